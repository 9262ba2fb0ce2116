#!/usr/bin/env bash
# make bench-compare BEFORE=bin AFTER=bin: two builds of `newsletter send` in alternation on the
# same sink, list and machine minutes, with curl-replay (make bench's libcurl ceiling) in every
# round as the control. Two `make bench` runs one after the other cannot resolve a change of
# ten per cent here (the peers' own rates move more than that between runs); alternating
# rounds and medians can. Prints, per build, the median CPU time per message (user + system,
# the sender alone) and the median rate, and the control's.
#   BENCH_MESSAGES (3000), BENCH_SESSIONS (1), BENCH_RUNS (8 rounds)
#   BENCH_BEFORE_TOML / BENCH_AFTER_TOML: tables added to that side's configuration, each side then
#   building its own issue under it (e.g. the same build twice, BENCH_BEFORE_TOML with
#   '[tracking]\nclicks = "off"': what click tracking costs a send).
set -euo pipefail
cd "$(dirname "$0")/.."

before=${1:?usage: bench-compare.sh BEFORE_BIN AFTER_BIN}
after=${2:?usage: bench-compare.sh BEFORE_BIN AFTER_BIN}
count=${BENCH_MESSAGES:-3000}
sessions=${BENCH_SESSIONS:-1}
runs=${BENCH_RUNS:-8}

./scripts/setup-debian.sh >/dev/null
source scripts/bench-lib.sh
bench_start_sink
compiler=$(command -v cc || command -v clang) || { echo "bench-compare: no C compiler (cc or clang) on PATH" >&2; exit 1; }
"$compiler" -O2 -o "$work/curl-replay" scripts/bench/curl-replay.c -lcurl -lsqlite3 -lpthread

# Each side's store: its issue built and approved by its own build under its own configuration.
for build in before after; do
  bin=$before; extra=${BENCH_BEFORE_TOML:-}
  [ "$build" = after ] && bin=$after && extra=${BENCH_AFTER_TOML:-}
  mkdir -p "$work/$build"
  bench_config "$work/$build.toml" "$sessions" "$(printf '%b' "$extra")"
  sed -i "s|^data_dir = .*|data_dir = \"$work/$build/data\"|; s|^outbox_dir = .*|outbox_dir = \"$work/$build/outbox\"|" "$work/$build.toml"
  nl() { local command=$1; shift; "$bin" "$command" --config "$work/$build.toml" --log-level error "$@"; }
  nl ingest examples/ >/dev/null
  nl preview --week 2026-W47 >/dev/null
  nl approve --week 2026-W47 >/dev/null
  cp "$work/$build/data/newsletter.sqlite" "$work/$build.sqlite"
  python3 scripts/seed_subscribers.py "$work/$build.sqlite" "$count" >/dev/null
done
size=$("$after" benchmark-encode --config "$work/after.toml" --log-level error --week 2026-W47 --count 100 \
  | sed 's/.*average_bytes=\([0-9]*\).*/\1/')

# One timed run: appends "name cpu_us_per_message messages_per_second" to $work/results.
timed() {
  local name=$1; shift
  /usr/bin/time -f "%U %S %e" -o "$work/time" "$@" >/dev/null
  read -r user system seconds <"$work/time"
  awk -v n="$count" -v u="$user" -v s="$system" -v e="$seconds" -v name="$name" \
    'BEGIN { printf "%s %.0f %.0f\n", name, (u + s) * 1e6 / n, n / e }' >>"$work/results"
}
for round in $(seq "$runs"); do
  for build in before after; do
    bin=$before; [ "$build" = after ] && bin=$after
    rm -f "$work/$build/data/newsletter.sqlite-wal" "$work/$build/data/newsletter.sqlite-shm"
    cp "$work/$build.sqlite" "$work/$build/data/newsletter.sqlite"
    timed "$build" "$bin" send --config "$work/$build.toml" --log-level error --week 2026-W47
  done
  timed curl-replay "$work/curl-replay" "smtp://127.0.0.1:$port" "$size" "$count" "$sessions"
  printf '.' >&2
done
printf '\n' >&2

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
printf '\n%s messages of ~%s bytes, %s session(s), median of %s alternating rounds; load %s\n\n' \
  "$count" "$size" "$sessions" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-12s | %-22s | %-12s |\n| --- | ---: | ---: |\n' "sender" "CPU µs per message" "messages/s"
for name in before after curl-replay; do
  cpu=$(awk -v n="$name" '$1 == n { print $2 }' "$work/results" | median)
  rate=$(awk -v n="$name" '$1 == n { print $3 }' "$work/results" | median)
  printf '| %-12s | %22s | %12s |\n' "$name" "$cpu" "$rate"
done
