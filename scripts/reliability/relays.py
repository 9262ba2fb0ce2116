"""Checks the three-relay row's ledger against what the relays received: every sent row names
a relay, and that relay's log has a copy for the recipient (a copy the ledger gives to a relay
that never got it would be a lie about who took it). Prints one line: copies per relay as the
ledger says; exits 1 with the mismatches on standard error."""
import argparse, collections, sqlite3, sys

parser = argparse.ArgumentParser()
parser.add_argument("--db", required=True)
parser.add_argument("--week", required=True)
parser.add_argument("--log", action="append", default=[], help="relay_smtp.py logs: recipient, Message-ID, relay")
args = parser.parse_args()

received = collections.defaultdict(set)  # recipient -> relays that have a copy
for log in args.log:
    with open(log) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                received[parts[0].lower()].add(parts[2])

db = sqlite3.connect(args.db)
rows = db.execute(
    "SELECT s.email, d.relay FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id WHERE d.week = ? AND d.state = 'sent'",
    (args.week,)).fetchall()
by_relay = collections.Counter()
problems = []
for email, relay in rows:
    by_relay[relay or "(none)"] += 1
    if relay is None:
        problems.append(f"{email}: sent, with no relay recorded")
    elif relay not in received[email.lower()]:
        problems.append(f"{email}: the ledger says {relay}, which has no copy (copies at: {sorted(received[email.lower()])})")
for problem in problems[:10]:
    print(problem, file=sys.stderr)
print(", ".join(f"{count} by {relay}" for relay, count in sorted(by_relay.items())))
sys.exit(1 if problems else 0)
