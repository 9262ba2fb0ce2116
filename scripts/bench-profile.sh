#!/usr/bin/env bash
# make bench-profile: where the time of one message goes, sampled by perf (Debian linux-perf,
# the cpu-clock software event, which also works in virtual machines without hardware counters).
#   1. benchmark-encode: personalising and encoding messages in memory (the spliced encoder, and
#      with --reference the whole-message one it replaced, when the build has it);
#   2. newsletter send over one session to smtp-sink (claims, tokens, encoding, libcurl, ledger);
#   3. curl-replay (scripts/bench/curl-replay.c, make bench's libcurl ceiling) sending as many
#      messages of the same size over one connection: where a libcurl sender's time goes when it
#      does nothing else.
# Prints the top symbols (self time) of each. BENCH_BIN profiles another build with the same
# script. (valgrind's callgrind, whose instruction counts would not depend on the machine's load,
# cannot read the debug info of Swift 6.3 binaries with Debian 12's valgrind 3.19, and crashes
# on them once it is stripped.)
set -euo pipefail
cd "$(dirname "$0")/.."

count=${PROFILE_MESSAGES:-2000}
top=${PROFILE_TOP:-20}

./scripts/setup-debian.sh >/dev/null
command -v perf >/dev/null || { echo "bench-profile: installing linux-perf" >&2; apt-get install -y -q linux-perf >/dev/null; }
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    swift build -c release --product newsletter >/dev/null
    bin=$PWD/.build/release/newsletter
fi

source scripts/bench-lib.sh
bench_start_sink

bench_config "$work/newsletter.toml" 1
nl() { local command=$1; shift; "$bin" "$command" --config "$work/newsletter.toml" --log-level error "$@"; }
nl ingest examples/ >/dev/null
nl preview --week 2026-W47 >/dev/null
nl approve --week 2026-W47 >/dev/null
python3 scripts/seed_subscribers.py "$work/data/newsletter.sqlite" "$count"

# The top symbols by self time: "share  library  symbol".
report() {
    local name=$1; shift
    perf record -q -e cpu-clock -F 1999 -o "$work/profile.data" -- "$@" >/dev/null 2>&1 || true
    printf '\n%s: top %d symbols, self time (perf, cpu-clock)\n\n' "$name" "$top"
    perf report -i "$work/profile.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | sed -n "1,${top}p" | sed 's/  */ /g; s/ - - $//' | demangle | cut -c1-160 || true
}
demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
encode=(benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count 20000)
report "encode (what send uses)" "$bin" "${encode[@]}"
if "$bin" benchmark-encode --help 2>/dev/null | grep -q -- --reference; then
    report "encode (--reference: the whole-message encoder)" "$bin" "${encode[@]}" --reference
fi
report "send ($count messages, 1 session, smtp-sink)" "$bin" send --config "$work/newsletter.toml" --log-level error --week 2026-W47
compiler=$(command -v cc || command -v clang) || { echo "bench-profile: no C compiler (cc or clang) on PATH" >&2; exit 1; }
"$compiler" -O2 -g -o "$work/curl-replay" scripts/bench/curl-replay.c -lcurl -lsqlite3 -lpthread
size=$("$bin" benchmark-encode --config "$work/newsletter.toml" --log-level error --week 2026-W47 --count 100 | sed 's/.*average_bytes=\([0-9]*\).*/\1/')
report "curl-replay ($count messages of $size bytes, 1 connection, smtp-sink)" "$work/curl-replay" "smtp://127.0.0.1:$port" "$size" "$count" 1
