"""Topic variants in the reliability suite.

    variants.py seed DB          a quarter of the list each: everything, {Documentation},
                                 {Developer Tools}, {Data & Analytics, Productivity}
    variants.py check DB DIR...  every copy smtp-sink received (dumps under DIR) is the frozen
                                 variant of its recipient's choice: its Subject is that variant's

check prints one line, `copies N wrong W variants V`, and exits 1 if a copy is not its
recipient's variant (or the issue has fewer than four variants)."""
import email, email.policy, json, pathlib, sqlite3, sys

CHOICES = {1: ["Documentation"], 2: ["Developer Tools"], 3: ["Data & Analytics", "Productivity"]}


def seed(db):
    rows = [(sid, topic) for (sid,) in db.execute("SELECT id FROM subscriber") for topic in CHOICES.get(sid % 4, [])]
    db.executemany("INSERT INTO subscriber_topic (subscriber_id, topic) VALUES (?, ?)", rows)
    db.commit()


def check(db, directories):
    (variants_json,) = db.execute("SELECT variants FROM issue WHERE week = '2026-W47'").fetchone()
    variants = json.loads(variants_json)["variants"]
    subject_of = {tuple(v["choice"]): v.get("subject") for v in variants}
    choices = {}
    for sid, email_address in db.execute("SELECT id, email FROM subscriber"):
        topics = tuple(sorted(t for (t,) in db.execute("SELECT topic FROM subscriber_topic WHERE subscriber_id = ?", (sid,))))
        choices[email_address.lower()] = topics
    copies = wrong = 0
    for directory in directories:
        for dump in pathlib.Path(directory).iterdir():
            message = email.message_from_bytes(dump.read_bytes(), policy=email.policy.default)
            recipient = str(message["X-Rcpt-Args"]).removeprefix("TO:").strip("<> ").lower()
            copies += 1
            if str(message["Subject"]) != subject_of.get(choices.get(recipient, ("?",))):
                wrong += 1
                if wrong <= 5:
                    print(f"{recipient} got {message['Subject']!r}", file=sys.stderr)
    print(f"copies {copies} wrong {wrong} variants {len(variants)}")
    return 0 if wrong == 0 and len(variants) >= 4 else 1


if __name__ == "__main__":
    connection = sqlite3.connect(sys.argv[2])
    sys.exit(seed(connection) if sys.argv[1] == "seed" else check(connection, sys.argv[3:]))
