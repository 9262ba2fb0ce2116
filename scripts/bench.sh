#!/usr/bin/env bash
# make bench: newsletter's delivery speed on loopback, next to named peers, in one run.
#   1. personalised messages rendered and encoded per second, in memory;
#   2. messages delivered per second to Postfix's smtp-sink by `newsletter send`,
#      next to Postfix's smtp-source (-d: one connection per session, same sessions, same size)
#      and to the Python tool mailmerge sending the same template to the same list;
#   3. the measured ceiling of any libcurl-based sender here: scripts/bench/curl-replay.c, the same
#      pre-built message sent with libcurl's easy interface as SMTPTransport uses it (a handle per
#      connection, MAIL FROM/RCPT/upload per message), no ledger, no personalisation; and the same
#      with one SQLite ledger commit per message (BENCH_CURL_LEDGER=0 skips that variant).
# Prints medians of BENCH_RUNS runs and the ratios. Everything stays on 127.0.0.1.
# The send is compared at BENCH_SESSION_COUNTS sessions ("4 1") for each of BENCH_LISTS list
# sizes ("2000 100000"; BENCH_SCALE_RUNS runs, default 1, above 10,000), then the peak RSS at
# BENCH_MEMORY_LISTS ("100000 1000000"; BENCH_MEMORY=0 skips it), then topic variants
# (BENCH_VARIANTS=0 skips them), then one relay against two (scripts/bench/relays.sh, BENCH_RELAYS=0
# skips it). BENCH_BIN measures a build other than this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${BENCH_MESSAGES:-2000}
sessions=${BENCH_SESSIONS:-4}
runs=${BENCH_RUNS:-3}
encode_count=${BENCH_ENCODE:-5000}
mailmerge_version=2.3.0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/newsletter
venv=$cache/mailmerge-$mailmerge_version

./scripts/setup-debian.sh >/dev/null
# BENCH_BIN measures another build (e.g. the one before a change) with the same script.
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    swift build -c release --product newsletter >/dev/null
    bin=$PWD/.build/release/newsletter
fi
if [ ! -x "$venv/bin/mailmerge" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "mailmerge==$mailmerge_version"
fi

source scripts/bench-lib.sh
bench_start_sink
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# The libcurl ceiling, compiled here (the Swift toolchain brings clang where there is no cc).
compiler=$(command -v cc || command -v clang) || { echo "bench: no C compiler (cc or clang) on PATH" >&2; exit 1; }
"$compiler" -O2 -o "$work/curl-replay" scripts/bench/curl-replay.c -lcurl -lsqlite3 -lpthread
curl_ledger=${BENCH_CURL_LEDGER:-1}

bench_config "$work/newsletter.toml" "$sessions"
nl() { local command=$1; shift; "$bin" "$command" --config "$work/newsletter.toml" --log-level error "$@"; }
nl ingest examples/ >/dev/null
nl preview --week 2026-W47 >/dev/null
nl approve --week 2026-W47 >/dev/null
python3 scripts/seed_subscribers.py "$work/data/newsletter.sqlite" "$messages"

encode_line=$(nl benchmark-encode --week 2026-W47 --count "$encode_count")
size=$(sed 's/.*average_bytes=\([0-9]*\).*/\1/' <<<"$encode_line")
encode_rate=$(sed 's/.*per_second=\([0-9]*\).*/\1/' <<<"$encode_line")
# (A build from before issue 16 has no --reference: its only encoder is the reference.)
reference_line=$(nl benchmark-encode --week 2026-W47 --count "$encode_count" --reference 2>/dev/null || echo "$encode_line")
reference_rate=$(sed 's/.*per_second=\([0-9]*\).*/\1/' <<<"$reference_line")

# mailmerge: the same text, the same recipients, the same server.
{
    echo "TO: {{email}}"
    echo "FROM: digest@shiporskip.example"
    echo "SUBJECT: Ship or Skip weekly"
    echo
    head -c "$size" /dev/zero | tr '\0' 'x' | fold -w 76
} > "$work/mailmerge_template.txt"
printf '[smtp_server]\nhost = 127.0.0.1\nport = %s\nsecurity = Never\n' "$port" > "$work/mailmerge_server.conf"
{ echo "email"; for i in $(seq 0 $((messages - 1))); do echo "reader$i@example.org"; done; } > "$work/mailmerge_database.csv"

elapsed() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
reset_ledger() {
    python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('DELETE FROM delivery'); db.execute(\"UPDATE issue SET status = 'approved'\"); db.commit()" "$work/data/newsletter.sqlite"
}
# Confirmed subscribers up to $1.
grow_list() {
    python3 - "$work/data/newsletter.sqlite" "$1" <<'PY'
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
have = db.execute("SELECT COUNT(*) FROM subscriber").fetchone()[0]
now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.000")
db.executemany("INSERT INTO subscriber (email, name, status, created_at) VALUES (?, ?, 'confirmed', ?)",
               [(f"reader{i}@example.org", f"Reader {i}", now) for i in range(have, int(sys.argv[2]))])
db.execute("DELETE FROM delivery"); db.execute("UPDATE issue SET status = 'approved'"); db.commit()
PY
}
set_sessions() { sed -i "s/^concurrency = .*/concurrency = $1/" "$work/newsletter.toml"; }

# newsletter send next to smtp-source -d with the same sessions, list size and message size,
# alternating in the same minutes; the peak RSS of the sends is kept for the memory table.
declare -A send_rate source_rate curl_rate curl_ledger_rate peak_rss send_cpu curl_cpu curl_ledger_cpu
# timed TOTAL COMMAND...: runs it under GNU time and sets $rate (messages/s, wall clock, start-up
# and the ledger's preparation included), $cpu (the command's own CPU time, user + system, in µs
# per message: what the machine's load moves much less than the rate) and $rss (peak, KB).
timed() {
    local total=$1 start end wall user system; shift
    start=$(date +%s.%N)
    if ! /usr/bin/time -f "%U %S %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt"; then
        echo "bench: $(basename "$1") $2 failed: $(grep -v '^Command exited' "$work/stderr.txt" | tail -1)" >&2
    fi
    end=$(date +%s.%N)
    read -r user system rss < <(tail -1 "$work/time.txt")
    rate=$(echo "$total / ($end - $start)" | bc -l)
    cpu=$(echo "1000000 * ($user + $system) / $total" | bc -l)
}
# newsletter send, smtp-source -d and curl-replay (with and without its ledger), alternating in
# the same minutes with the same sessions, list size and message size; the peak RSS of the sends
# is kept for the memory table.
compare() {
    local total=$1 n=$2 runs_here=$3 sends=() send_cpus=() sources=() curls=() curl_cpus=() ledgers=() ledger_cpus=() peak=0
    set_sessions "$n"
    for _ in $(seq "$runs_here"); do
        reset_ledger
        timed "$total" "$bin" send --config "$work/newsletter.toml" --log-level error --week 2026-W47
        sends+=("$rate") send_cpus+=("$cpu")
        peak=$(( rss > peak ? rss : peak ))
        timed "$total" /usr/sbin/smtp-source -d -s "$n" -m "$total" -l "$size" "127.0.0.1:$port"
        sources+=("$rate")
        timed "$total" "$work/curl-replay" "smtp://127.0.0.1:$port" "$size" "$total" "$n"
        curls+=("$rate") curl_cpus+=("$cpu")
        if [ "$curl_ledger" = 1 ]; then
            timed "$total" "$work/curl-replay" "smtp://127.0.0.1:$port" "$size" "$total" "$n" --ledger "$work/curl-ledger.sqlite"
            ledgers+=("$rate") ledger_cpus+=("$cpu")
        fi
    done
    send_rate[$total,$n]=$(printf '%s\n' "${sends[@]}" | median)
    send_cpu[$total,$n]=$(printf '%s\n' "${send_cpus[@]}" | median)
    source_rate[$total,$n]=$(printf '%s\n' "${sources[@]}" | median)
    curl_rate[$total,$n]=$(printf '%s\n' "${curls[@]}" | median)
    curl_cpu[$total,$n]=$(printf '%s\n' "${curl_cpus[@]}" | median)
    curl_ledger_rate[$total,$n]=0 curl_ledger_cpu[$total,$n]=0
    if [ "$curl_ledger" = 1 ]; then
        curl_ledger_rate[$total,$n]=$(printf '%s\n' "${ledgers[@]}" | median)
        curl_ledger_cpu[$total,$n]=$(printf '%s\n' "${ledger_cpus[@]}" | median)
    fi
    peak_rss[$total,$n]=$peak
}

session_counts=${BENCH_SESSION_COUNTS:-"$sessions 1"}
list_sizes=${BENCH_LISTS:-"$messages 100000"}
for total in $list_sizes; do
    grow_list "$total"
    runs_here=$runs
    [ "$total" -gt 10000 ] && runs_here=${BENCH_SCALE_RUNS:-1}
    for n in $session_counts; do compare "$total" "$n" "$runs_here"; done
done

# mailmerge, one connection as it does, on the first list size.
mailmerge_rates=()
grow_list "$messages"
for _ in $(seq "$runs"); do
    t=$(cd "$work" && elapsed "$venv/bin/mailmerge" --no-dry-run --no-limit --template mailmerge_template.txt --database mailmerge_database.csv --config mailmerge_server.conf)
    mailmerge_rates+=("$(echo "$messages / $t" | bc -l)")
done
mailmerge=$(printf '%s\n' "${mailmerge_rates[@]}" | median)
newsletter=${send_rate[$messages,$sessions]}
source=${source_rate[$messages,$sessions]}

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nnewsletter delivery benchmark: messages of ~%d bytes, median of %d runs (%s runs above 10,000), loopback smtp-sink\n' \
    "$size" "$runs" "${BENCH_SCALE_RUNS:-1}"
printf 'load average (1, 5, 15 min) %s at the start, %s after the send table, on %s cores\n\n' "$load_before" "$load_after" "$(nproc)"
printf '| %-58s | %12s |\n' "personalise + encode one message, in memory, one core" "messages/s"
printf '|%s|%s|\n' "$(printf -- '-%.0s' $(seq 60))" "$(printf -- '-%.0s' $(seq 14))"
printf '| %-58s | %12.0f |\n' "spliced (encoded once per issue, spans per reader)" "$encode_rate"
printf '| %-58s | %12.0f |\n' "reference (whole message filled and encoded per reader)" "$reference_rate"
# Messages per second of each sender; then newsletter against the libcurl ceiling (curl-replay),
# that ceiling against smtp-source, and newsletter against smtp-source (the issue's aim).
percent() { if [ "${2%.*}" -gt 0 ] 2>/dev/null; then printf '%.0f%%' "$(echo "100 * $1 / $2" | bc -l)"; else echo "-"; fi; }
times_more() { if [ "${2%.*}" -gt 0 ] 2>/dev/null; then printf '%.1f×' "$(echo "$1 / $2" | bc -l)"; else echo "-"; fi; }
dashes() { printf -- '-%.0s' $(seq "$1"); }
printf '\n| %-11s | %-8s | %12s | %13s | %13s | %16s | %8s | %9s | %8s | %9s |\n' "subscribers" "sessions" \
    "newsletter/s" "curl-replay/s" "curl+ledger/s" "smtp-source -d/s" "nl/curl" "curl/smtp" "nl/smtp" "peak RSS"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(dashes 13)" "$(dashes 10)" "$(dashes 14)" "$(dashes 15)" "$(dashes 15)" \
    "$(dashes 18)" "$(dashes 10)" "$(dashes 11)" "$(dashes 10)" "$(dashes 11)"
for total in $list_sizes; do
    for n in $session_counts; do
        nl_rate=${send_rate[$total,$n]} curl=${curl_rate[$total,$n]} src=${source_rate[$total,$n]}
        printf '| %-11s | %-8s | %12.0f | %13.0f | %13s | %16.0f | %8s | %9s | %8s | %6.1f MB |\n' "$total" "$n" \
            "$nl_rate" "$curl" "$([ "$curl_ledger" = 1 ] && printf '%.0f' "${curl_ledger_rate[$total,$n]}" || echo -)" "$src" \
            "$(percent "$nl_rate" "$curl")" "$(percent "$curl" "$src")" "$(percent "$nl_rate" "$src")" \
            "$(echo "${peak_rss[$total,$n]} / 1024" | bc -l)"
    done
done
printf '\nCPU time of the sender itself (user + system), µs per message, median (the sink and the load not counted):\n\n'
printf '| %-11s | %-8s | %12s | %13s | %13s | %8s |\n' "subscribers" "sessions" "newsletter" "curl-replay" "curl+ledger" "nl/curl"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(dashes 13)" "$(dashes 10)" "$(dashes 14)" "$(dashes 15)" "$(dashes 15)" "$(dashes 10)"
for total in $list_sizes; do
    for n in $session_counts; do
        printf '| %-11s | %-8s | %12.0f | %13.0f | %13s | %8s |\n' "$total" "$n" "${send_cpu[$total,$n]}" "${curl_cpu[$total,$n]}" \
            "$([ "$curl_ledger" = 1 ] && printf '%.0f' "${curl_ledger_cpu[$total,$n]}" || echo -)" \
            "$(times_more "${send_cpu[$total,$n]}" "${curl_cpu[$total,$n]}")"
    done
done
printf '\nmailmerge %s, its one connection, %d subscribers: %.0f messages/s.\n' "$mailmerge_version" "$messages" "$mailmerge"
printf 'At %d sessions and %d subscribers newsletter reaches %s of curl-replay (the libcurl ceiling), which reaches %s of\nsmtp-source; newsletter reaches %s of smtp-source and %.1f× mailmerge.\n' \
    "$sessions" "$messages" "$(percent "$newsletter" "${curl_rate[$messages,$sessions]}")" \
    "$(percent "${curl_rate[$messages,$sessions]}" "$source")" "$(percent "$newsletter" "$source")" \
    "$(echo "$newsletter / $mailmerge" | bc -l)"

# Memory as the list grows: subscribers stream from the store in pages, so the peak should
# barely move between 100 k and 1 M (BENCH_MEMORY=0 skips this; 1 M takes minutes).
if [ "${BENCH_MEMORY:-1}" = 1 ]; then
    printf '\n| %-24s | %12s | %10s | %12s |\n' "subscribers" "peak RSS" "seconds" "messages/s"
    printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 26))" "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 12))" "$(printf -- '-%.0s' $(seq 14))"
    set_sessions "$sessions"
    for total in ${BENCH_MEMORY_LISTS:-100000 1000000}; do
        grow_list "$total"
        /usr/bin/time -f "%M %e" -o "$work/time.txt" "$bin" send --config "$work/newsletter.toml" --log-level error --week 2026-W47 >/dev/null
        read -r rss seconds < "$work/time.txt"
        printf '| %-24s | %9.1f MB | %10.1f | %12.0f |\n' "$total" "$(echo "$rss / 1024" | bc -l)" "$seconds" "$(echo "$total / $seconds" | bc -l)"
    done
fi

# Topic variants: the same send with four variants next to one (scripts/bench-variants.sh).
if [ "${BENCH_VARIANTS:-1}" = 1 ]; then
    ./scripts/bench-variants.sh "$bin"
fi

# Several relays: two paced relays next to one, counted per second at their sinks
# (scripts/bench/relays.sh; BENCH_RELAYS=0 skips it).
if [ "${BENCH_RELAYS:-1}" = 1 ]; then
    ./scripts/bench/relays.sh "$bin"
fi
