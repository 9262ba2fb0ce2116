#!/usr/bin/env bash
# make bench-profile: where one message's instructions go, counted by valgrind's callgrind
# (instruction counts do not depend on how busy the machine is, unlike times).
#   1. benchmark-encode: personalising and encoding N messages in memory, spliced and reference;
#   2. newsletter send of N messages over one session to smtp-sink (claims, tokens, encoding,
#      libcurl, the ledger), under callgrind.
# Prints instructions per message and the top functions (inclusive) of each.
# BENCH_BIN measures another build with the same script.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${PROFILE_MESSAGES:-500}
top=${PROFILE_TOP:-25}

./scripts/setup-debian.sh >/dev/null
command -v valgrind >/dev/null || { echo "bench-profile: installing valgrind" >&2; apt-get install -y -q valgrind >/dev/null; }
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    swift build -c release --product newsletter >/dev/null
    bin=$PWD/.build/release/newsletter
fi

work=$(mktemp -d)
# Valgrind 3.19 (Debian 12) cannot read the DWARF 5 debug info Swift's clang writes: profile a
# copy without it (the symbol table, which names the functions, stays).
objcopy --strip-debug "$bin" "$work/newsletter"
bin=$work/newsletter
sink_pid=
cleanup() { [ -n "$sink_pid" ] && kill -9 "$sink_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_flag=(); [ "$(id -u)" -eq 0 ] && user_flag=(-u nobody)
/usr/sbin/smtp-sink "${user_flag[@]}" "127.0.0.1:$port" 256 & sink_pid=$!
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break; sleep 0.1; done

cat > "$work/newsletter.toml" <<TOML
data_dir = "data"
outbox_dir = "outbox"
templates_dir = "$PWD/templates"
[mail]
from = "digest@shiporskip.example"
concurrency = 1
retries = 0
[smtp]
url = "smtp://127.0.0.1:$port"
allow_plaintext = true
[summaries]
enabled = false
TOML
nl() { local command=$1; shift; "$bin" "$command" --config "$work/newsletter.toml" --log-level error "$@"; }
nl ingest examples/ >/dev/null
nl preview --week 2026-W47 >/dev/null
nl approve --week 2026-W47 >/dev/null
python3 - "$work/data/newsletter.sqlite" "$count" <<'PY'
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.000")
db.executemany("INSERT INTO subscriber (email, name, status, createdAt) VALUES (?, ?, 'confirmed', ?)",
               [(f"reader{i}@example.org", f"Reader {i}", now) for i in range(int(sys.argv[2]))])
db.commit()
PY

# Instructions of a command, less those of the same command doing `base` messages (start-up,
# opening the store, rendering nothing twice), divided per message.
profile() {
    local name=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@" >/dev/null 2>"$work/$name.log" || true
    local total
    total=$(grep -m1 '^summary:' "$work/$name.out" | awk '{ print $2 }')
    printf '%s %s\n' "$name" "$total"
}
reset_ledger() {
    python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('DELETE FROM delivery'); db.execute(\"UPDATE issue SET status = 'approved'\"); db.commit()" "$work/data/newsletter.sqlite"
}

read -r _ encode_base < <(profile encode0 "$bin" benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count 1)
read -r _ encode_all < <(profile encode "$bin" benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count "$((count + 1))")
reference_all=
if "$bin" benchmark-encode --help 2>/dev/null | grep -q -- --reference; then
    read -r _ reference_base < <(profile reference0 "$bin" benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count 1 --reference)
    read -r _ reference_all < <(profile reference "$bin" benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count "$((count + 1))" --reference)
fi
reset_ledger
read -r _ send_base < <(profile send0 "$bin" send --config "$work/newsletter.toml" --log-level error --week 2026-W47 --limit 1)
reset_ledger
read -r _ send_all < <(profile send "$bin" send --config "$work/newsletter.toml" --log-level error --week 2026-W47 --limit "$((count + 1))")

printf '\nnewsletter per-message instructions (callgrind, %d messages, start-up subtracted)\n\n' "$count"
printf '| %-52s | %16s |\n' "what" "instructions/msg"
printf '|%s|%s|\n' "$(printf -- '-%.0s' $(seq 54))" "$(printf -- '-%.0s' $(seq 18))"
printf '| %-52s | %16.0f |\n' "personalise + encode (benchmark-encode)" "$(echo "($encode_all - $encode_base) / $count" | bc -l)"
[ -n "$reference_all" ] && printf '| %-52s | %16.0f |\n' "personalise + encode, reference path (--reference)" "$(echo "($reference_all - $reference_base) / $count" | bc -l)"
printf '| %-52s | %16.0f |\n' "send, 1 session to smtp-sink (whole process)" "$(echo "($send_all - $send_base) / $count" | bc -l)"

for name in encode send; do
    printf '\ntop %d functions of %s, inclusive, share of all instructions:\n\n' "$top" "$name"
    callgrind_annotate --inclusive=yes "$work/$name.out" 2>/dev/null | sed -n '/^-\{10,\}$/,$p' | grep -v '^-' | grep -v '^$' \
        | sed -n "3,$((top + 2))p" | sed 's/ \[[^]]*\]$//' | cut -c1-160
done
