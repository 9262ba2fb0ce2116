"""Scenario 6 of the reliability suite: the bounce mailbox after a week sent with VERP.

`deliver`: reads what smtp-sink received (each copy's recipient, VERP envelope sender and
Message-ID), picks with the seed 5 % hard bounces, 5 % soft, 1 % complaints and 2 %
auto-replies (disjoint), writes one message each into a Maildir's new/ as a delivery agent
would, and writes the expected outcome per address.
`check`: compares the store with that: every subscriber's status, every report stored once.
Prints one line: messages, stored, hard, soft, complaints, auto-replies, wrong (0 when all is
as expected); details on standard error."""
import argparse, pathlib, random, sqlite3, sys, time

parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="command", required=True)
deliver = sub.add_parser("deliver")
deliver.add_argument("--sink-dir", required=True)
deliver.add_argument("--maildir", required=True)
deliver.add_argument("--expected", required=True)
deliver.add_argument("--seed", type=int, required=True)
check = sub.add_parser("check")
check.add_argument("--db", required=True)
check.add_argument("--expected", required=True)
check.add_argument("--week", required=True)
args = parser.parse_args()


def copies(directory):
    for dump in sorted(pathlib.Path(directory).iterdir()):
        fields = {}
        with open(dump, "rb") as f:
            for line in f:
                if line in (b"\n", b"\r\n"):
                    break
                name, _, value = line.decode("utf-8", "replace").partition(":")
                fields.setdefault(name.strip().lower(), value.strip())
        rcpt = fields["x-rcpt-args"].removeprefix("TO:").split()[0].strip("<>").lower()
        verp = fields["x-mail-args"].removeprefix("FROM:").split()[0].strip("<>")
        yield rcpt, verp, fields["message-id"].strip("<>")


def dsn(n, rcpt, verp, message_id, status, action, diagnostic):
    return f"""To: {verp}\r
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r
Subject: Undelivered Mail Returned to Sender\r
Message-ID: <reliability-dsn-{n}@mx.example.net>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary="R{n}"\r
\r
--R{n}\r
Content-Type: text/plain\r
\r
The mail system could not deliver your message.\r
\r
--R{n}\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example.net\r
\r
Final-Recipient: rfc822; {rcpt}\r
Action: {action}\r
Status: {status}\r
Diagnostic-Code: smtp; {diagnostic}\r
\r
--R{n}\r
Content-Type: text/rfc822-headers\r
\r
Message-ID: <{message_id}>\r
To: {rcpt}\r
\r
--R{n}--\r
"""


def arf(n, message_id):
    return f"""To: fbl@shiporskip.example\r
From: feedback@fbl.example.com\r
Subject: Abuse report\r
Message-ID: <reliability-arf-{n}@fbl.example.com>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report; boundary="A{n}"\r
\r
--A{n}\r
Content-Type: text/plain\r
\r
An abuse report.\r
\r
--A{n}\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: ReliabilityFBL/1.0\r
Version: 1\r
\r
--A{n}\r
Content-Type: message/rfc822\r
\r
Message-ID: <{message_id}>\r
To: redacted@example.org\r
Subject: Ship or Skip\r
\r
Hello.\r
--A{n}--\r
"""


def auto_reply(n, rcpt, verp):
    return f"""To: {verp}\r
From: {rcpt}\r
Subject: Out of office\r
Message-ID: <reliability-ooo-{n}@example.org>\r
Auto-Submitted: auto-replied\r
X-Autoreply: yes\r
\r
I am away.\r
"""


if args.command == "deliver":
    rng = random.Random(args.seed)
    received = list(copies(args.sink_dir))
    rng.shuffle(received)
    total = len(received)
    plan = ([("hard", 0.05), ("soft", 0.05), ("complaint", 0.01), ("autoReply", 0.02)])
    new = pathlib.Path(args.maildir) / "new"
    expected = []
    position = 0
    n = 0
    for kind, share in plan:
        for rcpt, verp, message_id in received[position:position + round(total * share)]:
            n += 1
            if kind == "hard":
                text = dsn(n, rcpt, verp, message_id, "5.1.1", "failed", "550 5.1.1 User unknown")
                state = "bounced"
            elif kind == "soft":
                text = (dsn(n, rcpt, verp, message_id, "5.2.2", "failed", "552 5.2.2 Mailbox full") if n % 2
                        else dsn(n, rcpt, verp, message_id, "4.4.1", "delayed", "connection timed out"))
                state = "confirmed"
            elif kind == "complaint":
                text = arf(n, message_id)
                state = "unsubscribed"
            else:
                text = auto_reply(n, rcpt, verp)
                state = "confirmed"
            (new / f"{int(time.time())}.R{n}.reliability").write_bytes(text.encode())
            expected.append((rcpt, kind, state))
        position += round(total * share)
    with open(args.expected, "w") as f:
        for row in expected:
            f.write("\t".join(row) + "\n")
    print(n)
else:
    expected = [line.rstrip("\n").split("\t") for line in open(args.expected)]
    db = sqlite3.connect(args.db)
    states = dict(db.execute("SELECT lower(email), status FROM subscriber"))
    kinds = dict(db.execute("SELECT kind, COUNT(*) FROM bounce_event WHERE source = 'mailbox' GROUP BY kind"))
    stored = db.execute("SELECT COUNT(*) FROM bounce_event WHERE source = 'mailbox'").fetchone()[0]
    wrong = 0
    want = {}
    for rcpt, kind, state in expected:
        want[kind] = want.get(kind, 0) + 1
        if states.get(rcpt) != state:
            wrong += 1
            print(f"{rcpt}: {kind} should leave it {state}, it is {states.get(rcpt)}", file=sys.stderr)
    untouched = {r for r, _, _ in expected}
    for email, status in states.items():
        if email not in untouched and status != "confirmed":
            wrong += 1
            print(f"{email}: got no report but is {status}", file=sys.stderr)
    for kind, count in want.items():
        if kinds.get(kind, 0) != count:
            wrong += 1
            print(f"{kind}: {count} reports, {kinds.get(kind, 0)} stored", file=sys.stderr)
    if stored != len(expected):
        wrong += 1
        print(f"{len(expected)} reports, {stored} stored", file=sys.stderr)
    print(len(expected), stored, kinds.get("hard", 0), kinds.get("soft", 0), kinds.get("complaint", 0),
          kinds.get("autoReply", 0), wrong)
