#!/usr/bin/env bash
# The same send with four topic variants next to one (make bench calls this after its table):
# BENCH_MESSAGES (2000) confirmed subscribers, BENCH_SESSIONS (4) connections to one loopback
# smtp-sink, median of BENCH_RUNS (3) runs, the two stores sent to in turn within each run.
# Four variants, a quarter of the list each: everything and three choices of two of the
# examples' categories, each of which selects both comparisons, so every message is the same
# size as with one variant and only the cost of variants is measured. Usage: bench-variants.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-${NEWSLETTER_BIN:-$PWD/.build/release/newsletter}}
messages=${BENCH_MESSAGES:-2000}
sessions=${BENCH_SESSIONS:-4}
runs=${BENCH_RUNS:-3}
[ -x "$bin" ] || { echo "bench-variants: $bin is not built" >&2; exit 1; }

source scripts/bench-lib.sh
bench_start_sink

for store in one four; do
    mkdir -p "$work/$store"
    bench_config "$work/$store/newsletter.toml" "$sessions"
    nl() { "$bin" "$1" --config "$work/$store/newsletter.toml" --log-level error "${@:2}"; }
    nl ingest examples/ >/dev/null
    python3 scripts/seed_subscribers.py "$work/$store/data/newsletter.sqlite" "$messages"
    if [ "$store" = four ]; then
        python3 - "$work/$store/data/newsletter.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
choices = {1: ["Documentation", "Developer Tools"], 2: ["Data & Analytics", "Productivity"],
           3: ["Documentation", "Productivity"]}
rows = [(sid, topic) for (sid,) in db.execute("SELECT id FROM subscriber") for topic in choices.get(sid % 4, [])]
db.executemany("INSERT INTO subscriber_topic (subscriber_id, topic) VALUES (?, ?)", rows)
db.commit()
PY
    fi
    nl preview --week 2026-W47 >"$work/$store/preview.txt"
    nl approve --week 2026-W47 >/dev/null
done
variants=$(grep -o '[0-9]* variants' "$work/four/preview.txt" | cut -d' ' -f1)
[ "${variants:-0}" = 4 ] || { echo "bench-variants: expected 4 variants, preview said: $(cat "$work/four/preview.txt")" >&2; exit 1; }

elapsed() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
reset_ledger() {
    python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('DELETE FROM delivery'); db.execute(\"UPDATE issue SET status = 'approved'\"); db.commit()" "$1"
}
sent() { python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM delivery WHERE state = 'sent'\").fetchone()[0])" "$1"; }

one_rates=(); four_rates=()
for run in $(seq "$runs"); do
    for store in one four; do
        reset_ledger "$work/$store/data/newsletter.sqlite"
        t=$(elapsed "$bin" send --config "$work/$store/newsletter.toml" --log-level error --week 2026-W47)
        delivered=$(sent "$work/$store/data/newsletter.sqlite")
        [ "$delivered" = "$messages" ] || { echo "bench-variants: $store sent $delivered of $messages" >&2; exit 1; }
        rate=$(echo "$messages / $t" | bc -l)
        if [ "$store" = one ]; then one_rates+=("$rate"); else four_rates+=("$rate"); fi
    done
done
one=$(printf '%s\n' "${one_rates[@]}" | median)
four=$(printf '%s\n' "${four_rates[@]}" | median)

printf '\ntopic variants: %d messages, %d sessions, median of %d runs, loopback smtp-sink\n\n' "$messages" "$sessions" "$runs"
printf '| %-58s | %12s | %14s |\n' "what" "messages/s" "vs one variant"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 60))" "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 16))"
printf '| %-58s | %12.0f | %14s |\n' "newsletter send, one variant (nobody chose topics)" "$one" "1.00"
printf '| %-58s | %12.0f | %14.2f |\n' "newsletter send, four variants, a quarter of the list each" "$four" "$(echo "$four / $one" | bc -l)"
printf '\nfour variants run at %.0f%% of one (aim: within 5 %%).\n' "$(echo "100 * $four / $one" | bc -l)"
