#!/usr/bin/env python3
"""Adds COUNT confirmed subscribers reader0@example.org … to a migrated newsletter store, in one
transaction (the benchmarks and the reliability suite need lists far larger than the CLI adds
quickly). Usage: seed_subscribers.py DB COUNT
"""
import datetime
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000")
db.executemany("INSERT INTO subscriber (email, name, status, created_at) VALUES (?, ?, 'confirmed', ?)",
               [(f"reader{i}@example.org", f"Reader {i}", now) for i in range(int(sys.argv[2]))])
db.commit()
