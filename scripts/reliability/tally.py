"""Counts, per subscriber, the copies the SMTP peer actually received, and checks them against
the store. Prints one tab-separated line: recipients, delivered exactly once, duplicates, lost,
permanently refused; and the details on standard error.

The copies come from the peer, never from newsletter: smtp-sink's dump files (one per message,
with its X-Rcpt-Args line) or the faulty peer's delivery log (recipient<TAB>Message-ID)."""
import argparse, collections, pathlib, sqlite3, subprocess, sys

parser = argparse.ArgumentParser()
parser.add_argument("--db", required=True, help="the SQLite store (the list, when --psql is not given)")
parser.add_argument("--psql", help="a PostgreSQL store's URL: the list and the ledger are read from it")
parser.add_argument("--week", required=True)
parser.add_argument("--sink-dir", action="append", default=[], help="smtp-sink -d directories")
parser.add_argument("--log", action="append", default=[], help="faulty_smtp.py delivery logs")
parser.add_argument("--refused", help="faulty_smtp.py's 550 list: these must be 'failed' in the ledger, not lost")
args = parser.parse_args()

copies = collections.Counter()
for directory in args.sink_dir:
    for dump in pathlib.Path(directory).iterdir():
        with open(dump, "rb") as f:
            for line in f:
                if line.startswith(b"X-Rcpt-Args:"):
                    address = line.split(b":", 1)[1].strip().decode()
                    address = address.removeprefix("TO:").strip("<>")
                    copies[address.lower()] += 1
                    break
                if line in (b"\n", b"\r\n"):
                    break
for log in args.log:
    with open(log) as f:
        for line in f:
            if line.strip():
                copies[line.split("\t", 1)[0].strip().lower()] += 1

if args.psql:
    def rows(sql):
        out = subprocess.run(["psql", "-At", "-F", "\t", args.psql, "-c", sql], check=True, capture_output=True,
                             text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]
    week = args.week.replace("'", "")
    subscribers = [r[0].lower() for r in rows("SELECT email FROM subscriber WHERE status IN ('confirmed', 'bounced')")]
    ledger = {r[0]: int(r[1]) for r in rows(f"SELECT state, COUNT(*) FROM delivery WHERE week = '{week}' GROUP BY state")}
    failed = {r[0].lower() for r in rows(
        f"SELECT s.email FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id WHERE d.week = '{week}' AND d.state = 'failed'")}
else:
    db = sqlite3.connect(args.db)
    subscribers = [row[0].lower() for row in db.execute("SELECT email FROM subscriber WHERE status IN ('confirmed', 'bounced')")]
    ledger = dict(db.execute("SELECT state, COUNT(*) FROM delivery WHERE week = ? GROUP BY state", (args.week,)).fetchall())
    failed = {row[0].lower() for row in db.execute(
        "SELECT s.email FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id WHERE d.week = ? AND d.state = 'failed'",
        (args.week,))}
refused = set()
if args.refused:
    refused = {line.strip().lower() for line in open(args.refused) if line.strip()}

problems = []
if args.refused and failed != refused:
    problems.append(f"the ledger's failed rows ({len(failed)}) are not the peer's 550s ({len(refused)})")
expected = [s for s in subscribers if s not in refused]
once = sum(1 for s in expected if copies[s] == 1)
duplicates = sum(copies[s] - 1 for s in expected if copies[s] > 1)
lost = [s for s in expected if copies[s] == 0]
strays = [a for a in copies if a in refused or a not in set(subscribers)]
if strays:
    problems.append(f"{len(strays)} copies went to addresses that should get none, e.g. {strays[:3]}")
print(f"ledger: {dict(sorted(ledger.items()))}", file=sys.stderr)
if lost:
    print(f"lost ({len(lost)}): {lost[:10]}", file=sys.stderr)
if duplicates:
    print(f"duplicated: {[s for s in expected if copies[s] > 1][:10]}", file=sys.stderr)
for problem in problems:
    print(f"PROBLEM: {problem}", file=sys.stderr)
print(f"{len(subscribers)}\t{once}\t{duplicates}\t{len(lost)}\t{len(refused)}")
sys.exit(2 if problems else 0)
