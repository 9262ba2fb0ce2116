#!/usr/bin/env bash
# Summarizing a week of six comparisons with the bundled runtime (docs/benchmarks.md):
# `newsletter summaries eval --json` over the five sample pages and one example page, read in
# place, for each thread count given; prints a Markdown table per run: acceptance, guard
# failures by kind, tokens per second from llama-server's timings, wall time, and our request
# time next to the server's own time for the same requests (the overhead of our client).
#
#   scripts/bench-summaries.sh [THREADS...]      default: 1 and the number of cores
#
# Needs the runtime (make runtime) and a release build (make build-release).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${NEWSLETTER_BIN:-.build/release/newsletter}
[ -x "$BIN" ] || { echo "bench-summaries: build first: swift build -c release --product newsletter" >&2; exit 1; }
paths=$(scripts/build-runtime.sh --print-paths) || { echo "bench-summaries: run make runtime first" >&2; exit 1; }
export NEWSLETTER_LLAMA_SERVER=$(printf '%s\n' "$paths" | sed -n 's/^LLAMA_SERVER=//p')
export NEWSLETTER_MODEL=$(printf '%s\n' "$paths" | sed -n 's/^MODEL=//p')

samples=${NEWSLETTER_SAMPLE_PAGES:-$(cd .. && pwd)/shared/sample-pages}
[ -d "$samples" ] || { echo "bench-summaries: no sample pages at $samples (set NEWSLETTER_SAMPLE_PAGES)" >&2; exit 1; }
pages=("$samples"/*.txt "$PWD/examples/lanternfish-vs-quillmark.txt")

threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 "$(nproc)")

work=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-bench-summaries.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
echo "bench-summaries: ${#pages[@]} comparisons, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for t in "${threads[@]}"; do
    printf '[summaries]\nthreads = %s\n' "$t" >"$work/newsletter.toml"
    started=$(date +%s.%N)
    (cd "$work" && "$OLDPWD/$BIN" summaries eval --json "${pages[@]}") >"$work/report-$t.json"
    ended=$(date +%s.%N)
    python3 - "$work/report-$t.json" "$t" "$started" "$ended" <<'PY'
import json, sys
report, threads = json.load(open(sys.argv[1])), sys.argv[2]
total = float(sys.argv[4]) - float(sys.argv[3])
print(f"\n#### `-t {threads}`: {report['pages']} comparisons, {total:.1f} s in all (process start to exit)\n")
print("| provider (kind) | pages accepted | replies accepted | guard failures by kind | completion tokens | tokens/s (server) | wall s | requests ms (ours) | server ms (timings) | overhead |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for p in report["providers"]:
    failures = ", ".join(f"{k} {v}" for k, v in sorted(p["guardFailures"].items(), key=lambda kv: (-kv[1], kv[0]))) or "none"
    if p["errors"]:
        failures += "; errors: " + ", ".join(f"{k} {v}" for k, v in sorted(p["errors"].items()))
    rate = f"{p['repliesAccepted']}/{p['replies']}" + (f" ({100 * p['repliesAccepted'] / p['replies']:.0f} %)" if p["replies"] else "")
    tps = f"{p['tokensPerSecond']:.1f}" if p.get("tokensPerSecond") is not None else "n/a"
    overhead = f"{p['overheadPercent']:.1f} %" if p.get("overheadPercent") is not None else "n/a"
    print(f"| {p['provider']} ({p['kind']}) | {p['pagesAccepted']}/{p['pages']} | {rate} | {failures} | "
          f"{p['completionTokens']} | {tps} | {p['wallMilliseconds'] / 1000:.1f} | {p['requestMilliseconds']} | "
          f"{p['serverMilliseconds']:.0f} | {overhead} |")
PY
done
