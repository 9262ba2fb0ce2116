#!/usr/bin/env bash
# Several relays (issue 27; make bench calls this last): one relay at BENCH_RELAY_RATE (200)
# messages/s next to two such relays, each a loopback smtp-sink that dumps one file per message
# named by the second it arrived in, so each relay's busiest second is counted at the sink, not
# taken from newsletter. BENCH_RELAY_LIST (6000) confirmed subscribers, 4 connections per relay,
# SQLite. The aim: two relays reach at least 1.8× one relay's rate, and no sink sees more than
# its relay's limit in any second. Usage: relays.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${1:-${NEWSLETTER_BIN:-$PWD/.build/release/newsletter}}
list=${BENCH_RELAY_LIST:-6000}
limit=${BENCH_RELAY_RATE:-200}
week=2026-W47
[ -x "$bin" ] || { echo "bench relays: $bin is not built" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
sinks=()
trap 'for pid in "${sinks[@]}"; do kill -9 "$pid" 2>/dev/null; done; rm -rf "$work"' EXIT
user_flag=()
[ "$(id -u)" -eq 0 ] && user_flag=(-u nobody)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_sink NAME: a counting smtp-sink dumping into $work/NAME; sets $sink_port.
start_sink() {
    sink_port=$(free_port)
    mkdir -p "$work/$1" && chmod 777 "$work/$1"
    /usr/sbin/smtp-sink "${user_flag[@]}" -d "$work/$1/%Y%m%d%H%M%S." "127.0.0.1:$sink_port" 256 &
    sinks+=("$!")
    disown "$!"
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $sink_port)).close()" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench relays: smtp-sink did not start" >&2
    exit 1
}

# run_send NAME RELAY...: a store with the examples' week approved and $list subscribers, sent
# through the relays named (each one sink); sets $rate, messages/s over the send's wall clock (not
# a subshell: the sinks it starts must stay the script's to end).
run_send() {
    local name=$1 dir=$work/$1
    shift
    mkdir -p "$dir"
    cat >"$dir/newsletter.toml" <<TOML
data_dir = "data"
outbox_dir = "outbox"
templates_dir = "$PWD/templates"
[mail]
from = "digest@shiporskip.example"
retries = 0
[summaries]
enabled = false
TOML
    local relay
    for relay in "$@"; do
        start_sink "$name-$relay"
        printf '[[smtp.relays]]\nname = "%s"\nurl = "smtp://127.0.0.1:%s"\nallow_plaintext = true\nmessages_per_second = %s\nconnections = 4\n' \
            "$relay" "$sink_port" "$limit" >>"$dir/newsletter.toml"
    done
    "$bin" ingest --config "$dir/newsletter.toml" --log-level error examples/ >/dev/null
    "$bin" preview --config "$dir/newsletter.toml" --log-level error --week "$week" >/dev/null
    "$bin" approve --config "$dir/newsletter.toml" --log-level error --week "$week" >/dev/null
    python3 scripts/seed_subscribers.py "$dir/data/newsletter.sqlite" "$list"
    local start end
    start=$(date +%s.%N)
    "$bin" send --config "$dir/newsletter.toml" --log-level error --week "$week" >"$dir/send.log" 2>&1 \
        || { echo "bench relays: the send failed: $(tail -2 "$dir/send.log")" >&2; exit 1; }
    end=$(date +%s.%N)
    rate=$(python3 -c "print(f'{$list / ($end - $start):.1f}')")
}

# busiest DIR / median DIR: the most (the median) messages a sink took in one second; the
# first and last seconds, partly outside the send, are left out of the median.
busiest() { find "$1" -type f -printf '%f\n' | cut -c1-14 | sort | uniq -c | sort -rn | head -1 | awk '{ print $1 }'; }
median() {
    find "$1" -type f -printf '%f\n' | cut -c1-14 | sort | uniq -c | awk '{ print $1 }' | sed '1d;$d' | sort -n \
        | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : 0) }'
}
count() { find "$1" -type f | wc -l; }

echo "bench relays: $list subscribers, $limit/s per relay, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)" >&2
run_send one a
one=$rate
run_send two a b
two=$rate
ratio=$(python3 -c "print(f'{$two / $one:.2f}')")
printf '\nseveral relays: %d subscribers, each relay limited to %d messages/s (its own list-wide bucket), 4 connections, SQLite\n\n' "$list" "$limit"
printf '| %-12s | %12s | %-40s | %-40s |\n' "relays" "messages/s" "relay a at its sink: messages, busiest s, median s" "relay b at its sink"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 14))" "$(printf -- '-%.0s' $(seq 42))" "$(printf -- '-%.0s' $(seq 42))"
printf '| %-12s | %12s | %-40s | %-40s |\n' "one" "$one" \
    "$(count "$work/one-a"), $(busiest "$work/one-a"), $(median "$work/one-a")" "-"
printf '| %-12s | %12s | %-40s | %-40s |\n' "two" "$two" \
    "$(count "$work/two-a"), $(busiest "$work/two-a"), $(median "$work/two-a")" \
    "$(count "$work/two-b"), $(busiest "$work/two-b"), $(median "$work/two-b")"
worst=$(printf '%s\n' "$(busiest "$work/one-a")" "$(busiest "$work/two-a")" "$(busiest "$work/two-b")" | sort -n | tail -1)
verdict_rate=$(python3 -c "print('met' if $two >= 1.8 * $one else 'MISSED')")
verdict_limit=$([ "$worst" -le "$limit" ] && echo met || echo MISSED)
printf '\ntwo relays reach %s× one relay (aim ≥ 1.8×: %s); the busiest second at any sink held %s messages (limit %s: %s).\n' \
    "$ratio" "$verdict_rate" "$worst" "$limit" "$verdict_limit"
