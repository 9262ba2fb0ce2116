#!/usr/bin/env python3
"""Makes WEEK's approved draft in a migrated newsletter store a sent issue of COUNT subscribers,
as a large list's send leaves it, in one transaction (the report benchmark needs a list far
larger than a send on loopback makes quickly): COUNT confirmed subscribers joined over the year
before (a signup and a confirm consent record each), their ledger rows (97 % sent over two
hours from Monday 09:00 UTC, 1 % each deferred, failed and skipped), bounce reports (0.5 % hard,
0.3 % soft, 0.05 % complaints), 0.4 % unsubscribing in the three days after the send, and
clicks on the draft's tracked links. Usage: seed_sent_issue.py DB WEEK COUNT
"""
import datetime
import random
import sqlite3
import sys

path, week, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(47)
utc = datetime.timezone.utc
year, number = int(week[:4]), int(week[-2:])
start = datetime.datetime.fromisocalendar(year, number, 1).replace(hour=9, tzinfo=utc)


def stamp(moment: datetime.datetime) -> str:
    """As the store writes dates: UTC, milliseconds."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


db = sqlite3.connect(path)
first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM subscriber").fetchone()[0]
subscribers, consents, deliveries, bounces = [], [], [], []
for n in range(count):
    sid = first + n
    joined = start - datetime.timedelta(seconds=rng.uniform(3600, 365 * 86400))
    subscribers.append((sid, f"reader{n}@example.org", f"Reader {n}", stamp(joined), stamp(joined)))
    consents += [(sid, "signup", stamp(joined)), (sid, "confirm", stamp(joined + datetime.timedelta(minutes=5)))]
    sent = start + datetime.timedelta(seconds=7200 * n / count)
    roll = rng.random()
    state = "sent" if roll < 0.97 else "deferred" if roll < 0.98 else "failed" if roll < 0.99 else "skipped"
    deliveries.append((week, sid, state, f"<{sid}.{week}@bench>" if state == "sent" else None,
                       stamp(sent) if state == "sent" else None, stamp(sent)))
    if state == "sent":
        roll = rng.random()
        kind = "hard" if roll < 0.005 else "soft" if roll < 0.008 else "complaint" if roll < 0.0085 else None
        if kind:
            effect = {"hard": "bounced: hard bounce", "soft": "none", "complaint": "unsubscribed"}[kind]
            received = sent + datetime.timedelta(hours=rng.uniform(0, 48))
            bounces.append((f"bench-{sid}", sid, week, kind, "mailbox", stamp(received), stamp(sent), effect))
        elif rng.random() < 0.004:
            consents.append((sid, "unsubscribe", stamp(sent + datetime.timedelta(hours=rng.uniform(0, 72)))))
db.executemany(
    "INSERT INTO subscriber (id, email, name, status, created_at, confirmed_at) VALUES (?, ?, ?, 'confirmed', ?, ?)",
    subscribers)
db.executemany("INSERT INTO consent (subscriber_id, event, at) VALUES (?, ?, ?)", consents)
db.executemany(
    "INSERT INTO delivery (week, subscriber_id, state, attempts, message_id, sent_at, updated_at) "
    "VALUES (?, ?, ?, 1, ?, ?, ?)", deliveries)
db.executemany(
    "INSERT INTO bounce_event (key, subscriber_id, week, kind, source, received_at, message_sent_at, effect) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bounces)
for (link,) in db.execute("SELECT id FROM issue_link WHERE week = ?", (week,)).fetchall():
    db.execute("UPDATE issue_link SET clicks = ?, scanner_clicks = ? WHERE id = ?",
               (rng.randint(0, count // 20), rng.randint(0, count // 200), link))
updated = db.execute("UPDATE issue SET status = 'sent', sent_at = ? WHERE week = ? AND approved_hash IS NOT NULL",
                     (stamp(start + datetime.timedelta(hours=2)), week)).rowcount
if updated != 1:
    sys.exit(f"seed_sent_issue: {week} has no approved draft in {path}")
db.commit()
