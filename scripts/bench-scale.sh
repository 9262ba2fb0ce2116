#!/usr/bin/env bash
# make bench-scale: several senders sharing one PostgreSQL store, next to SQLite with one, in
# one run, all to Postfix's smtp-sink on loopback (docs/benchmarks.md, "Past one machine").
#   1. BENCH_SCALE_LIST (100000) subscribers: SQLite with one `send`; PostgreSQL with one, two
#      and three `send`s started together, unpaced;
#   2. the same list with each sender paced by its own relay quota (mail.messages_per_second,
#      BENCH_SCALE_PER_SENDER, 200): one sender, then three;
#   3. three senders under a list-wide limit (mail.list_messages_per_second, BENCH_SCALE_LIST_LIMIT,
#      300): the sink's busiest second must stay at or under it;
#   4. BENCH_SCALE_BIG (1000000; 0 skips it) subscribers on PostgreSQL with three senders: wall time
#      and each sender's peak RSS.
# Each row: messages per second (delivered at the sink over the wall time of the slowest
# sender), each sender's peak RSS (/usr/bin/time), and the database's CPU time (the cluster's
# postmaster and every backend it reaped). smtp-source -d at the same sessions and size, in the
# same run, is the ceiling of the loopback. The paced rows send BENCH_SCALE_PACED (20000)
# messages each, so that they last about 30 s, not 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

list=${BENCH_SCALE_LIST:-100000}
paced=${BENCH_SCALE_PACED:-20000}
big=${BENCH_SCALE_BIG:-1000000}
per_sender=${BENCH_SCALE_PER_SENDER:-200}
list_limit=${BENCH_SCALE_LIST_LIMIT:-300}
sessions=${BENCH_SCALE_SESSIONS:-4}
week=2026-W47

./scripts/setup-debian.sh >/dev/null
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    swift build -c release --product newsletter >/dev/null
    bin=$repo/.build/release/newsletter
fi

source scripts/bench-lib.sh
bench_start_sink
bench_start_postgres

# smtp-sink counting messages per second for the list-wide row: its -d dumps one file per
# message, named by the second it arrived in.
count_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/counted" && chmod 777 "$work/counted"
user_flag=()
[ "$(id -u)" -eq 0 ] && user_flag=(-u nobody)
/usr/sbin/smtp-sink "${user_flag[@]}" -d "$work/counted/%Y%m%d%H%M%S." "127.0.0.1:$count_port" 256 &
count_pid=$!
disown "$count_pid"
trap 'kill -9 "$count_pid" 2>/dev/null; ./scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1; bench_cleanup' EXIT

# A SQLite store with the examples' week approved and COUNT subscribers: the source of every row.
# make_sqlite DIR COUNT [TOML]
make_sqlite() {
    mkdir -p "$1"
    bench_config "$1/newsletter.toml" "$sessions" "${3:-}"
    "$bin" ingest --config "$1/newsletter.toml" --log-level error examples/ >/dev/null
    "$bin" preview --config "$1/newsletter.toml" --log-level error --week "$week" >/dev/null
    "$bin" approve --config "$1/newsletter.toml" --log-level error --week "$week" >/dev/null
    python3 scripts/seed_subscribers.py "$1/data/newsletter.sqlite" "$2"
}

database_count=0
# The SQLite store of $1 copied into a new database; sets $url (not a subshell: the count must stay).
copy_to_postgres() {
    database_count=$((database_count + 1))
    url="${pg_server%/*}/scale_$database_count?sslmode=disable"
    psql -q "$pg_server" -c "CREATE DATABASE scale_$database_count" >/dev/null
    "$bin" store copy --config "$1/newsletter.toml" --log-level error --to "$url" >/dev/null
}

# The cluster's CPU seconds so far: the postmaster and the backends it has reaped, plus the
# live ones (clock ticks from /proc).
db_cpu() {
    local postmaster
    postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
    python3 - "$postmaster" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
root = int(sys.argv[1])
def times(pid, children):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    # utime stime cutime cstime are fields 14-17 (index 11-14 after the name)
    return sum(int(v) for v in fields[11:15 if children else 13])
total = times(root, True)
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != root:
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == root:
            total += times(int(entry), False)
print(f"{total / hz:.1f}")
PY
}

# run_senders DIR N URL|"" SINK_PORT: N `send`s started together on DIR's configuration (with
# store.url = URL, or the SQLite store); prints "messages/s rss1/rss2/... db_cpu wall".
run_senders() {
    local dir=$1 count=$2 url=$3 sink_port=$4 extra=${5:-}
    local config=$dir/run-$count-$RANDOM.toml
    sed "s|url = \"smtp://127.0.0.1:[0-9]*\"|url = \"smtp://127.0.0.1:$sink_port\"|" "$dir/newsletter.toml" >"$config"
    if [ -n "$extra" ]; then printf '%s\n' "$extra" | sed -i "/^\[mail\]/r /dev/stdin" "$config"; fi
    if [ -n "$url" ]; then printf '[store]\nurl = "%s"\n' "$url" >>"$config"; fi
    local before_cpu=0
    if [ -n "$url" ]; then before_cpu=$(db_cpu); fi
    local started pids=() index
    started=$(date +%s.%N)
    for index in $(seq "$count"); do
        /usr/bin/time -f "%M" -o "$dir/rss-$index.txt" "$bin" send --config "$config" --log-level error \
            --week "$week" >"$dir/send-$index.log" 2>&1 &
        pids+=("$!")
    done
    local exits=()
    for pid in "${pids[@]}"; do
        local status=0
        wait "$pid" || status=$?
        exits+=("$status")
    done
    # A sender that failed makes the row wrong, not slow: say why, on standard error.
    for index in $(seq "$count"); do
        if [ "${exits[$((index - 1))]}" != 0 ]; then
            echo "bench-scale: sender $index of $count exited ${exits[$((index - 1))]}: $(tail -2 "$dir/send-$index.log" | tr '\n' ' ')" >&2
        fi
    done
    local ended
    ended=$(date +%s.%N)
    local after_cpu=0
    if [ -n "$url" ]; then after_cpu=$(db_cpu); fi
    local sent
    if [ -n "$url" ]; then
        sent=$(psql -At "${url%%\?*}" -c "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
    else
        sent=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM delivery WHERE state = '"'"'sent'"'"'").fetchone()[0])' "$dir/data/newsletter.sqlite")
    fi
    local rss=()
    # (time writes "Command exited with non-zero status N" first when a sender failed.)
    for index in $(seq "$count"); do rss+=("$(tail -1 "$dir/rss-$index.txt" | awk '{ printf "%.1f", $1 / 1024 }')"); done
    python3 -c "import sys; s, a, b = map(float, sys.argv[1:4]); print(f'{s / (b - a):.0f}', end=' ')" "$sent" "$started" "$ended"
    echo "$(IFS=/; echo "${rss[*]}") $(python3 -c "print(f'{$after_cpu - $before_cpu:.1f}')") $(python3 -c "print(f'{$ended - $started:.1f}')") $sent"
}

rows=()
# Each row is also printed as it is measured, so that a run stopped early keeps what it had.
row() {
    rows+=("$1|$2")
    echo "bench-scale: $1: $2" >&2
}

echo "bench-scale: $list subscribers, $sessions sessions per sender, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)" >&2
make_sqlite "$work/base" "$list"
size=$("$bin" benchmark-encode --config "$work/base/newsletter.toml" --log-level error --week "$week" --count 200 \
    | sed 's/.*average_bytes=\([0-9]*\).*/\1/')
source_start=$(date +%s.%N)
/usr/sbin/smtp-source -d -s "$sessions" -l "$size" -m 20000 -f digest@shiporskip.example -t reader@example.org \
    "127.0.0.1:$port" >/dev/null 2>&1
source_end=$(date +%s.%N)
ceiling=$(python3 -c "print(f'{20000 / ($source_end - $source_start):.0f}')")
row "smtp-source -d, $sessions sessions, ${size} B (the ceiling)" "$ceiling msg/s|-|-|-"

cp -a "$work/base" "$work/sqlite1"
read -r rate rss cpu wall sent <<<"$(run_senders "$work/sqlite1" 1 "" "$port")"
sqlite_rate=$rate
row "SQLite, 1 sender" "$rate msg/s ($sent in $wall s)|$rss MB|-|-"
for count in 1 2 3; do
    copy_to_postgres "$work/base"
    mkdir -p "$work/pg$count" && cp "$work/base/newsletter.toml" "$work/pg$count/"
    read -r rate rss cpu wall sent <<<"$(run_senders "$work/pg$count" "$count" "$url" "$port")"
    if [ "$count" -eq 1 ]; then pg_one=$rate; fi
    row "PostgreSQL, $count sender(s)" "$rate msg/s ($sent in $wall s)|$rss MB|$cpu s|$(python3 -c "print(f'{$rate / $sqlite_rate:.2f}× SQLite')")"
done

# Paced: each sender its own relay quota.
make_sqlite "$work/paced" "$paced"
for count in 1 3; do
    copy_to_postgres "$work/paced"
    mkdir -p "$work/paced$count" && cp "$work/paced/newsletter.toml" "$work/paced$count/"
    read -r rate rss cpu wall sent <<<"$(run_senders "$work/paced$count" "$count" "$url" "$port" \
        "messages_per_second = $per_sender")"
    if [ "$count" -eq 1 ]; then paced_one=$rate; fi
    row "PostgreSQL, $count sender(s), $per_sender/s each (per process)" "$rate msg/s ($sent in $wall s)|$rss MB|$cpu s|$(python3 -c "print(f'{$rate / $paced_one:.2f}× one')")"
done

# List-wide: three senders, one limit; the busiest second at the counting sink.
copy_to_postgres "$work/paced"
mkdir -p "$work/listwide" && cp "$work/paced/newsletter.toml" "$work/listwide/"
read -r rate rss cpu wall sent <<<"$(run_senders "$work/listwide" 3 "$url" "$count_port" \
    "list_messages_per_second = $list_limit")"
busiest=$(find "$work/counted" -type f -printf '%f\n' | cut -c1-14 | sort | uniq -c | sort -rn | head -1 | awk '{ print $1 }')
median=$(find "$work/counted" -type f -printf '%f\n' | cut -c1-14 | sort | uniq -c | awk '{ print $1 }' | sort -n \
    | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
row "PostgreSQL, 3 senders, list-wide $list_limit/s" "$rate msg/s ($sent in $wall s); at the sink: busiest second $busiest, median second $median|$rss MB|$cpu s|busiest second $(python3 -c "print(f'{$busiest / $list_limit:.2f}')")× the limit"

if [ "$big" -gt 0 ]; then
    make_sqlite "$work/big" "$big"
    copy_to_postgres "$work/big"
    read -r rate rss cpu wall sent <<<"$(run_senders "$work/big" 3 "$url" "$port")"
    row "PostgreSQL, 3 senders, $big subscribers" "$rate msg/s ($sent in $wall s)|$rss MB|$cpu s|-"
fi

printf '\n| %s | %s | %s | %s | %s |\n| --- | --- | --- | --- | --- |\n' "what" "delivered" "peak RSS per sender" \
    "database CPU" "ratio"
for entry in "${rows[@]}"; do
    IFS='|' read -r what delivered rss cpu ratio <<<"$entry"
    printf '| %s | %s | %s | %s | %s |\n' "$what" "$delivered" "$rss" "$cpu" "$ratio"
done
printf '\nPostgreSQL with one sender: %s of SQLite with one (aim: within 15 %%).\n' \
    "$(python3 -c "print(f'{$pg_one / $sqlite_rate * 100:.0f} %')")"
