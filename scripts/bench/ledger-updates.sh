#!/usr/bin/env bash
# Row updates of the PostgreSQL ledger per message sent (issue 24's "≤ 2.2 row updates in
# `delivery` per message"): a list of LIST subscribers copied from SQLite into a fresh database,
# SENDERS `send`s started together against a loopback smtp-sink, and n_tup_upd of `delivery`
# (pg_stat_user_tables) before and after, divided by the messages sent. The count does not depend
# on the build's optimisation, so a debug binary measures it as well as a release one.
#
#   scripts/bench/ledger-updates.sh [BINARY] [LIST (2000)] [SENDERS (1)]
#
# Prints one line: "subscribers=… senders=… sent=… delivery_updates=… per_message=…".
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-.build/debug/newsletter}")
list=${2:-2000}
senders=${3:-1}
week=2026-W47

source scripts/bench-lib.sh
bench_start_sink
bench_start_postgres

base=$work/base
mkdir -p "$base"
bench_config "$base/newsletter.toml" 4
"$bin" ingest --config "$base/newsletter.toml" --log-level error examples/ >/dev/null
"$bin" preview --config "$base/newsletter.toml" --log-level error --week "$week" >/dev/null
"$bin" approve --config "$base/newsletter.toml" --log-level error --week "$week" >/dev/null
python3 scripts/seed_subscribers.py "$base/data/newsletter.sqlite" "$list"

url="${pg_server%/*}/ledger?sslmode=disable"
psql -q "$pg_server" -c "CREATE DATABASE ledger" >/dev/null
"$bin" store copy --config "$base/newsletter.toml" --log-level error --to "$url" >/dev/null
printf '[store]\nurl = "%s"\n' "$url" >>"$base/newsletter.toml"

# Each backend reports its counts when its session ends; every session here has ended.
updates() {
    psql -At "${url%%\?*}" -c "SELECT pg_stat_clear_snapshot(); SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'delivery'" | tail -1
}
before=$(updates)
pids=()
for index in $(seq "$senders"); do
    "$bin" send --config "$base/newsletter.toml" --log-level error --week "$week" >"$work/send-$index.log" 2>&1 &
    pids+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid" || { echo "ledger-updates: a sender failed: $(tail -2 "$work"/send-*.log | tr '\n' ' ')" >&2; exit 1; }
done
sleep 1  # the senders' backends flush their statistics as their sessions close
after=$(updates)
sent=$(psql -At "${url%%\?*}" -c "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
python3 -c "
import sys
list, senders, sent, before, after = map(int, sys.argv[1:6])
print(f'subscribers={list} senders={senders} sent={sent} delivery_updates={after - before} per_message={(after - before) / sent:.2f}')
" "$list" "$senders" "$sent" "$before" "$after"
