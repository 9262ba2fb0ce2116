#!/usr/bin/env bash
# make bench-run: the whole weekly `newsletter run` (ingest examples/, select, summarize, render,
# freeze, auto-approve, send) to Postfix's smtp-sink on loopback, at BENCH_RUN_SUBSCRIBERS
# (default 10000 and 100000): wall time, peak memory (/usr/bin/time -v), messages per second;
# then the same run again, which finds the week sent and sends nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=${BENCH_RUN_SUBSCRIBERS:-"10000 100000"}
sessions=${BENCH_SESSIONS:-4}
./scripts/setup-debian.sh >/dev/null
command -v /usr/bin/time >/dev/null || { echo "bench-run: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
swift build -c release --product newsletter >/dev/null
bin=$PWD/.build/release/newsletter

source scripts/bench-lib.sh
bench_start_sink

# Prints: wall seconds, peak RSS in KB, exit status. $2: the command (run, or send for reference).
timed_run() {
    local status=0
    /usr/bin/time -v -o "$work/time.txt" "$bin" "${2:-run}" --config "$1/newsletter.toml" --log-level error \
        --week 2026-W47 >"$1/run.out" 2>"$1/run.err" || status=$?
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
    echo "$wall $rss $status"
}

printf '\nnewsletter run end to end: ingest examples/ (4 pages, 2 comparisons), build, auto-approve, send ~30 KB messages over %d sessions to loopback smtp-sink\n\n' "$sessions"
printf '| %-12s | %-22s | %9s | %10s | %11s | %s\n' subscribers run "wall s" "peak RSS" "messages/s" summary
printf '|%s|%s|%s|%s|%s|%s\n' "--------------" "------------------------" "-----------" "------------" "-------------" "------"
for total in $sizes; do
    dir=$work/$total
    mkdir -p "$dir"
    bench_config "$dir/newsletter.toml" "$sessions" "[ingest]
sources = [\"$PWD/examples\"]
[run]
approval = \"auto\"
missed = \"send-late\""
    "$bin" status --config "$dir/newsletter.toml" >/dev/null
    python3 scripts/seed_subscribers.py "$dir/data/newsletter.sqlite" "$total"
    for label in "run: first (sends)" "run: again (nothing)" "send alone (reference)"; do
        command=run
        if [ "$label" = "send alone (reference)" ]; then
            # The same list sent again by `newsletter send` alone: what the run adds on top of it.
            python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('DELETE FROM delivery'); db.execute(\"UPDATE issue SET status = 'approved'\"); db.commit()" "$dir/data/newsletter.sqlite"
            command=send
        fi
        read -r wall rss status <<<"$(timed_run "$dir" "$command")"
        sent=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM delivery WHERE state = '"'sent'"'").fetchone()[0])' "$dir/data/newsletter.sqlite")
        rate="-"
        [ "$label" != "run: again (nothing)" ] && rate=$(echo "$sent / $wall" | bc -l | xargs printf '%.0f')
        printf '| %-12s | %-22s | %9.1f | %7.1f MB | %11s | exit %s: %s\n' "$total" "$label" "$wall" \
            "$(echo "$rss / 1024" | bc -l)" "$rate" "$status" "$(tail -1 "$dir/run.out" | cut -c1-90)"
    done
done
