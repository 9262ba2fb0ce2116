#!/usr/bin/env bash
# make bench-serve: `newsletter serve` under wrk on loopback, in one run:
#   POST /subscribe (a new address each request: a subscriber row, a consent row and a queued
#   confirmation, committed to SQLite in WAL mode, with the queue sending .eml files meanwhile),
#   POST /unsubscribe/TOKEN (a write transaction each time), GET /r/ID (a tracked link of the
#   sent issue: the redirect with its click counted in memory, flushed to the store every
#   tracking.flush_seconds), POST /webhooks/sendgrid (batches of BENCH_EVENTS SendGrid events,
#   each batch signed with ECDSA P-256 and checked, each event's id claimed against replays and
#   the event recorded by the bounce rule), and GET /healthz, a route that does no work on the
#   same server: the ceiling. After the runs the server is stopped with SIGTERM and the clicks
#   stored are checked against the redirects wrk saw answered: a clean stop loses none.
# Then the editor's report on an issue sent to BENCH_REPORT_SUBSCRIBERS (100,000) subscribers
#   (scripts/seed_sent_issue.py) and the charts page over its store, one request at a time
#   (BENCH_REPORT_REQUESTS, 21): median and slowest time to the last byte (the aim: 200 ms);
#   and on that server, GET /api/v1/subscribers?limit=100 with a read key against GET /healthz
#   (the aim: 30 % of it).
# Prints requests/s and p99 latency (medians of BENCH_RUNS runs) and each route's share of the
# ceiling. wrk and the server share the machine's cores.
# BENCH_PROFILE=ROUTE (healthz, subscribe or unsubscribe) also samples the server with perf
# (cpu-clock, all its threads) during that route's runs and prints the top symbols (self time)
# and the share of each library.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-32}

./scripts/setup-debian.sh >/dev/null
command -v wrk >/dev/null || { echo "bench-serve: installing wrk" >&2; apt-get install -y -q wrk >/dev/null; }
# BENCH_BIN measures another build (e.g. the one before a change) with the same script.
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  swift build -c release --product newsletter >/dev/null
  bin=$PWD/.build/release/newsletter
fi

work=$(mktemp -d)
server_pid=
report_pid=
cleanup() {
  for pid in $server_pid $report_pid; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/newsletter.toml" <<TOML
data_dir = "data"
outbox_dir = "outbox"
templates_dir = "$PWD/templates"
[server]
public_url = "http://127.0.0.1:$port"
# One client (wrk) sends everything: the per-client limit would measure the limiter.
posts_per_minute_per_client = 100000000
[log]
level = "error"
[summaries]
enabled = false
TOML
nl() { local command=$1; shift; "$bin" "$command" --config "$work/newsletter.toml" --log-level error "$@"; }
nls() { local command=$1; shift; "$bin" subscribers "$command" --config "$work/newsletter.toml" --log-level error "$@"; }
# A subscriber with a real unsubscribe token, taken from a sent issue.
nl ingest examples/ >/dev/null
nl preview --week 2026-W47 >/dev/null
nl approve --week 2026-W47 >/dev/null
nls add bench-leaver@example.org >/dev/null
nl send --week 2026-W47 >/dev/null
token=$(grep -ho "unsubscribe/[A-Za-z0-9_-]\{43\}" "$work"/outbox/2026-W47/messages/*.eml | head -1 | cut -d/ -f2)
[ -n "$token" ] || { echo "bench-serve: no unsubscribe token found in the sent issue" >&2; exit 1; }
# A tracked link of the sent issue (tracking.clicks = "aggregate", the default).
link=$(grep -ho "/r/[a-z2-7]\{12\}" "$work"/outbox/2026-W47/messages/*.eml | head -1 | cut -d/ -f3)
[ -n "$link" ] || { echo "bench-serve: no tracked link found in the sent issue" >&2; exit 1; }
stored_clicks() {
  sqlite3 "$work/data/newsletter.sqlite" "SELECT COALESCE(SUM(clicks + scanner_clicks), 0) FROM issue_link"
}

# The provider events' key: the server checks every batch with its public half.
events_per_batch=${BENCH_EVENTS:-50}
sendgrid_key=$(python3 scripts/bench_provider_events.py key "$work/sendgrid.pem")
# Started directly, not through nl(): $! must be the server itself for the cleanup to stop it.
NEWSLETTER_SENDGRID_PUBLIC_KEY=$sendgrid_key "$bin" serve --config "$work/newsletter.toml" --log-level error --port "$port" & server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

cat > "$work/subscribe.lua" <<'LUA'
local counter = 0
local prefix = nil
function setup(thread) thread:set("id", tostring(math.random(1, 1e9))) end
request = function()
  counter = counter + 1
  local body = "email=bench-" .. id .. "-" .. counter .. "%40example.org&name=Bench"
  return wrk.format("POST", "/subscribe", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
cat > "$work/unsubscribe.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "List-Unsubscribe=One-Click"
LUA

# Each batch is sent once (a second time is a replay, refused): each thread takes its own lines.
cat > "$work/sendgrid.lua" <<LUA
local batches = {}
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end
function init(args)
  local line_number = 0
  for line in io.lines("$work/sendgrid-batches.txt") do
    if line_number % 2 == index then
      local stamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      batches[#batches + 1] = wrk.format("POST", "/webhooks/sendgrid", {
        ["Content-Type"] = "application/json",
        ["X-Twilio-Email-Event-Webhook-Timestamp"] = stamp,
        ["X-Twilio-Email-Event-Webhook-Signature"] = signature}, body)
    end
    line_number = line_number + 1
  end
  next_batch = 0
end
request = function()
  next_batch = next_batch + 1
  return batches[next_batch]
end
LUA
# Fresh batches for one run: signed now, about the subscriber the sent issue went to.
sendgrid_batches() {
  python3 scripts/bench_provider_events.py batches "$work/sendgrid.pem" "$work/sendgrid-batches.txt" \
    "${BENCH_BATCHES:-6000}" "$events_per_batch" bench-leaver@example.org
}

# One wrk run: prints "requests_per_second p99_ms".
measure() {
  local path=$1 script=${2:-}
  local args=(-t2 "-c$connections" "-d$duration" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "http://127.0.0.1:$port$path" | awk -v path="$path" '
    /Requests\/sec:/ { rps = $2 }
    / requests in / { total = $1 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
    / Non-2xx or 3xx responses:/ { bad = $5 }
    END { if (bad > 0) { print "bench-serve: " bad " error responses from " path > "/dev/stderr"; exit 1 }; printf "%.0f %.2f %d\n", rps, p99, total }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
profile_route=${BENCH_PROFILE:-}
if [ -n "$profile_route" ]; then
  command -v perf >/dev/null || { echo "bench-serve: installing linux-perf" >&2; apt-get install -y -q linux-perf >/dev/null; }
fi
perf_pid=
profile_start() {
  [ "$1" = "$profile_route" ] || return 0
  perf record -q -e cpu-clock -F 999 -g -p "$server_pid" -o "$work/serve.perf" >/dev/null 2>&1 & perf_pid=$!
  sleep 0.5
}
profile_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; perf_pid=
}
demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
profile_report() {
  [ -f "$work/serve.perf" ] || return 0
  printf '\n`newsletter serve` during %s: top %s symbols, self time (perf, cpu-clock)\n\n' "$profile_route" "${PROFILE_TOP:-25}"
  perf report -i "$work/serve.perf" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | grep '%' | sed -n "1,${PROFILE_TOP:-25}p" | sed 's/  */ /g' | demangle | cut -c1-160 || true
  printf '\nby library\n\n'
  perf report -i "$work/serve.perf" --no-children --sort dso --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | grep '%' | sed -n '1,12p' | sed 's/  */ /g' || true
  if [ -n "${PROFILE_CALLERS:-}" ]; then
    # Inclusive time of our own frames: which route step the samples sit under.
    printf '\ninclusive time, frames matching %s\n\n' "$PROFILE_CALLERS"
    perf report -i "$work/serve.perf" --children --sort symbol --stdio -g none 2>/dev/null \
      | grep -v '^#' | grep '%' | demangle | grep -E "$PROFILE_CALLERS" | sed -n '1,30p' | sed 's/  */ /g' | cut -c1-200 || true
  fi
}

declare -A rps p99
for route in healthz subscribe unsubscribe redirect sendgrid; do
  results=()
  profile_start "$route"
  for _ in $(seq "$runs"); do
    case $route in
      healthz) results+=("$(measure /healthz)") ;;
      subscribe) results+=("$(measure /subscribe "$work/subscribe.lua")") ;;
      unsubscribe) results+=("$(measure "/unsubscribe/$token" "$work/unsubscribe.lua")") ;;
      redirect) results+=("$(measure "/r/$link")") ;;
      sendgrid) sendgrid_batches; results+=("$(measure /webhooks/sendgrid "$work/sendgrid.lua")") ;;
    esac
  done
  profile_stop
  rps[$route]=$(printf '%s\n' "${results[@]}" | cut -d' ' -f1 | median)
  p99[$route]=$(printf '%s\n' "${results[@]}" | cut -d' ' -f2 | median)
  if [ "$route" = redirect ]; then answered=$(printf '%s\n' "${results[@]}" | cut -d' ' -f3 | paste -sd+ | bc); fi
done
# A clean stop writes every click counted: none of the redirects wrk saw answered is lost.
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
stored=$(stored_clicks)
subscribers=$(nls list | wc -l)

printf '\n`newsletter serve` on loopback, wrk -t2 -c%s -d%s, median of %s runs (%s cores shared with wrk)\n\n' \
  "$connections" "$duration" "$runs" "$(nproc)"
printf '| route | requests/s | p99 latency | share of the ceiling |\n| --- | --- | --- | --- |\n'
for route in healthz subscribe unsubscribe redirect sendgrid; do
  case $route in
    healthz) label='`GET /healthz` (no work: the ceiling)' ;;
    subscribe) label='`POST /subscribe` (new address, durable)' ;;
    unsubscribe) label='`POST /unsubscribe/TOKEN` (durable)' ;;
    redirect) label='`GET /r/ID` (302, click counted)' ;;
    sendgrid) label="\`POST /webhooks/sendgrid\` (signed batches of $events_per_batch events)" ;;
  esac
  share=$(awk -v a="${rps[$route]}" -v b="${rps[healthz]}" 'BEGIN { printf "%.0f %%", 100 * a / b }')
  printf '| %s | %s | %s ms | %s |\n' "$label" "${rps[$route]}" "${p99[$route]}" "$share"
done
printf '\n%s subscribers stored by the run.\n' "$subscribers"
printf '%s redirects answered to wrk, %s clicks stored after SIGTERM (at most %s more: requests in flight when wrk stopped).\n' \
  "$answered" "$stored" "$connections"
if [ "$stored" -lt "$answered" ]; then
  echo "bench-serve: $((answered - stored)) clicks lost on a clean stop" >&2
  exit 1
fi
printf 'Provider events ingested with signatures checked: %s events/s (%s batches/s of %s).\n' \
  "$(( rps[sendgrid] * events_per_batch ))" "${rps[sendgrid]}" "$events_per_batch"
profile_report

# The report on a large sent issue, from a store of its own: the list above stays the routes'.
report_subscribers=${BENCH_REPORT_SUBSCRIBERS:-100000}
report_requests=${BENCH_REPORT_REQUESTS:-21}
report_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/report"
sed "s|127.0.0.1:$port|127.0.0.1:$report_port|" "$work/newsletter.toml" > "$work/report/newsletter.toml"
# One key (wrk) sends every API request: the per-key limit would measure the limiter.
printf '[api]\nrequests_per_minute = 100000000\nburst = 1000000\n' >> "$work/report/newsletter.toml"
nlr() { local command=$1; shift; (cd "$work/report" && "$bin" "$command" --config newsletter.toml --log-level error "$@"); }
nlr ingest "$PWD/examples/" >/dev/null
nlr preview --week 2026-W47 >/dev/null
nlr approve --week 2026-W47 >/dev/null
python3 scripts/seed_sent_issue.py "$work/report/data/newsletter.sqlite" 2026-W47 "$report_subscribers"
(cd "$work/report" && exec env NEWSLETTER_EDITOR_TOKEN=bench-editor "$bin" serve --config newsletter.toml \
  --log-level error --port "$report_port") & report_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$report_port/healthz" >/dev/null && break; sleep 0.1; done
# Milliseconds to the last byte of each of $report_requests requests, one after another: "median slowest".
page_times() {
  for _ in $(seq "$report_requests"); do
    curl -sf -o /dev/null -u editor:bench-editor -w '%{time_total}\n' "http://127.0.0.1:$report_port$1"
  done | awk '{ printf "%.1f\n", $1 * 1000 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[NR] }'
}
# The API's subscribers list, a page of 100 among them, against the ceiling on the same server.
api_key=$(cd "$work/report" && "$bin" api-keys create --config newsletter.toml --log-level error --name bench \
  --scope read | grep -o 'nlk_[A-Za-z0-9_-]*' | head -1)
[ -n "$api_key" ] || { echo "bench-serve: no API key made" >&2; exit 1; }
cat > "$work/api.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $api_key"
LUA
port=$report_port
api_results=(); ceiling_results=()
for _ in $(seq "$runs"); do
  ceiling_results+=("$(measure /healthz)")
  api_results+=("$(measure '/api/v1/subscribers?limit=100' "$work/api.lua")")
done
api_rps=$(printf '%s\n' "${api_results[@]}" | cut -d' ' -f1 | median)
api_p99=$(printf '%s\n' "${api_results[@]}" | cut -d' ' -f2 | median)
api_ceiling=$(printf '%s\n' "${ceiling_results[@]}" | cut -d' ' -f1 | median)
read -r report_median report_slowest <<< "$(page_times /editor/issues/2026-W47/report)"
read -r charts_median charts_slowest <<< "$(page_times /editor/reports)"
printf '\nThe editor'"'"'s pages over an issue sent to %s subscribers (%s requests each, one at a time)\n\n' \
  "$report_subscribers" "$report_requests"
printf '| page | median | slowest |\n| --- | --- | --- |\n'
printf '| `GET /editor/issues/2026-W47/report` | %s ms | %s ms |\n' "$report_median" "$report_slowest"
printf '| `GET /editor/reports` (12 weeks) | %s ms | %s ms |\n' "$charts_median" "$charts_slowest"
printf '\nThe API over the same %s subscribers, wrk -t2 -c%s -d%s, median of %s runs\n\n' \
  "$report_subscribers" "$connections" "$duration" "$runs"
printf '| route | requests/s | p99 latency | share of the ceiling |\n| --- | --- | --- | --- |\n'
printf '| `GET /healthz` (no work: the ceiling) | %s | | 100 %% |\n' "$api_ceiling"
printf '| `GET /api/v1/subscribers?limit=100` (a page of 100, key checked) | %s | %s ms | %s |\n' "$api_rps" "$api_p99" \
  "$(awk -v a="$api_rps" -v b="$api_ceiling" 'BEGIN { printf "%.0f %%", 100 * a / b }')"
