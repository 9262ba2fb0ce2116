#!/usr/bin/env bash
# Summaries on the bundled runtime, measured against issue 23's aims (docs/benchmarks.md).
#
#   scripts/bench-summaries.sh            the aims: a week of six, cold, quiet and beside one CPU hog;
#                                         the seven sample and example pages; pages outside them; the
#                                         labelled set; an injected take. Ends with one table.
#   scripts/bench-summaries.sh --matrix   every model preset and thread count side by side
#                                         (`summaries eval --json`, one cold server per run).
#   BENCH_MODELS="qwen2.5-coder-1.5b" BENCH_THREADS=1 scripts/bench-summaries.sh --matrix [PAGE...]
#   BENCH_PARTS="week hog" ...            only some parts of the aims (week hog rest labelled)
#
# The week is what `newsletter preview` does for an editor: six comparisons ingested into a fresh
# store and summarized through the configured chain, llama-server started cold, the wall time of
# the whole preview. Requests and tokens come from its `summary ready` log lines (llama-server's
# own timings), the peak RSS from sampling llama-server every 0.2 s. The hog is `stress-ng --cpu 1`.
#
# Needs the runtime (make runtime) and a release build (make build-release).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${NEWSLETTER_BIN:-.build/release/newsletter}
[ -x "$BIN" ] || { echo "bench-summaries: build first: swift build -c release --product newsletter" >&2; exit 1; }
scripts/build-runtime.sh --print-paths >/dev/null || { echo "bench-summaries: run make runtime first" >&2; exit 1; }

mode=aims
if [ "${1:-}" = "--matrix" ]; then mode=matrix; shift; fi
samples=${NEWSLETTER_SAMPLE_PAGES:-$(cd .. && pwd)/shared/sample-pages}
if [ $# -gt 0 ]; then
    pages=("$@")
else
    [ -d "$samples" ] || { echo "bench-summaries: no sample pages at $samples (set NEWSLETTER_SAMPLE_PAGES)" >&2; exit 1; }
    pages=("$samples"/*.txt "$PWD/examples/lanternfish-vs-quillmark.txt" "$PWD/examples/inkwell-vs-tallyhoist.txt")
fi
read -r -a models <<<"${BENCH_MODELS:-qwen2.5-coder-1.5b smollm2-135m}"
read -r -a threads <<<"${BENCH_THREADS:-1 2}"

work=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-bench-summaries.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# peak_rss PID OUT: the highest VmRSS (kB) of PID's llama-server child until PID exits.
peak_rss() {
    local parent=$1 out=$2 peak=0 child rss
    while kill -0 "$parent" 2>/dev/null; do
        for child in $(pgrep -P "$parent" 2>/dev/null); do
            # setpriv execs llama-server in place: the child's own command is what matters.
            rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
            [ "${rss:-0}" -gt "$peak" ] && peak=$rss
        done
        sleep 0.2
    done
    echo "$peak" >"$out"
}

if [ "$mode" = aims ]; then
    echo "bench-summaries: issue 23's aims, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    . scripts/bench-summaries-aims.sh
    exit 0
fi
echo "bench-summaries: ${#pages[@]} comparisons, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for model in "${models[@]}"; do
    for t in "${threads[@]}"; do
        run=$work/$model-t$t
        printf '[summaries]\nmodel = "%s"\nthreads = %s\n' "$model" "$t" >"$work/newsletter.toml"
        # On a machine loaded by other work a request can outlast the default timeout: the words do
        # not depend on the load (only on -t), so a benchmark of them may wait longer.
        [ -n "${BENCH_REQUEST_TIMEOUT:-}" ] && printf 'request_timeout_seconds = %s\n' "$BENCH_REQUEST_TIMEOUT" >>"$work/newsletter.toml"
        [ -n "${BENCH_GRAMMAR:-}" ] && printf 'grammar_fallback = %s\n' "$BENCH_GRAMMAR" >>"$work/newsletter.toml"
        started=$(date +%s.%N)
        (cd "$work" && exec "$OLDPWD/$BIN" summaries eval --json "${pages[@]}") >"$run.json" &
        eval_pid=$!
        peak_rss "$eval_pid" "$run.rss" &
        sampler=$!
        wait "$eval_pid"
        wait "$sampler"
        ended=$(date +%s.%N)
        python3 - "$run.json" "$model" "$t" "$started" "$ended" "$(cat "$run.rss")" <<'PY'
import json, sys
report, model, threads = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
total = float(sys.argv[5]) - float(sys.argv[4])
rss_mb = int(sys.argv[6]) / 1024
print(f"\n#### {model}, `-t {threads}`: {report['pages']} comparisons, {total:.1f} s in all "
      f"(process start to exit, llama-server cold), llama-server peak RSS {rss_mb:.0f} MB\n")
print("| provider (kind) | pages accepted | replies accepted | guard failures by kind | prompt tok/s | generation tok/s | wall s |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for p in report["providers"]:
    failures = ", ".join(f"{k} {v}" for k, v in sorted(p["guardFailures"].items(), key=lambda kv: (-kv[1], kv[0]))) or "none"
    if p["errors"]:
        failures += "; errors: " + ", ".join(f"{k} {v}" for k, v in sorted(p["errors"].items()))
    rate = f"{p['repliesAccepted']}/{p['replies']}"
    fmt = lambda v: f"{v:.1f}" if v is not None else "n/a"
    print(f"| {p['provider']} ({p['kind']}) | {p['pagesAccepted']}/{p['pages']} | {rate} | {failures} | "
          f"{fmt(p.get('promptTokensPerSecond'))} | {fmt(p.get('tokensPerSecond'))} | {p['wallMilliseconds'] / 1000:.1f} |")
for p in report["providers"]:
    if p["kind"] != "abstractive":
        continue
    print(f"\nAccepted {p['provider']} summaries ({model}, -t {threads}):\n")
    for index, text in enumerate(p.get("acceptedSummaries", []), 1):
        print(f"{index}. " + (text if text else "(none accepted)"))
PY
    done
done
