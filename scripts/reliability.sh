#!/usr/bin/env bash
# make reliability: the built `newsletter run`, against real SMTP peers, under faults.
#   1. 10 % of RCPTs answered 451, 1 % of addresses answered 550, connections dropped at random
#      (scripts/reliability/faulty_smtp.py, on aiosmtpd: smtp-sink cannot fail per recipient);
#   2. kill -9 of the run at three random moments, each followed by a re-run (smtp-sink);
#      2b. the same with the week in four topic variants (scripts/reliability/variants.py);
#   3. the SMTP server down for a whole run, then up for the next (smtp-sink);
#   4. the outbox's disk full (a small tmpfs), then space again (smtp-sink);
#   5. the LLM runtime killed mid-summary (scripts/reliability/llm.toml names the local runtime;
#      `make runtime` builds it);
#   6. the bounce mailbox (Dovecot, IMAP with STARTTLS) after a week sent with VERP: 5 % hard
#      bounces, 5 % soft, 1 % complaints, 2 % auto-replies, `bounces fetch` killed with -9 mid-way,
#      then fetched again (scripts/reliability/bounce_mailbox.py);
#   7. PostgreSQL (a throwaway cluster, scripts/pg-cluster.sh; the list copied over with `store copy`):
#      three `send`s on one week, one of them kill -9-ed mid-send, then a send after its lease ran out;
#   8. PostgreSQL restarted (`pg_ctl restart -m fast`) mid-send, then sends until done;
#   9. a sender SIGSTOPped past its lease while another takes its rows, then SIGCONTed: it must
#      record nothing over the new owner; what it had in flight is the only duplicate.
#  10. three relays ([[smtp.relays]], scripts/reliability/relay_smtp.py on aiosmtpd): one killed
#      with -9 mid-send, one answering 421 to MAIL FROM for a while, one healthy; the ledger must
#      name, for each copy, a relay that received it (scripts/reliability/relays.py).
# Copies are counted from what the peer received, never from newsletter's own ledger. Prints a
# table; exits 1 if anyone was lost or a check failed.
#
# RELIABILITY_SUBSCRIBERS (2000; RELIABILITY_PG_SUBSCRIBERS, default 20000, for 7–9), RELIABILITY_SEED (random; printed), NEWSLETTER_BIN (the debug
# build that `swift build` makes), RELIABILITY_ONLY (scenario numbers, e.g. "6"; default all).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

subscribers=${RELIABILITY_SUBSCRIBERS:-2000}
seed=${RELIABILITY_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$((seed % 32768))
bin=${NEWSLETTER_BIN:-$repo/.build/debug/newsletter}
week=2026-W47  # the week examples/ is published in
[ -x "$bin" ] || { echo "reliability: $bin is not built; run swift build" >&2; exit 1; }
peers_python=$(./scripts/setup-test-peers.sh)

root=$(mktemp -d /tmp/newsletter-reliability.XXXXXX)
chmod 755 "$root"
pids=()
mounts=()
cleanup() {
    # SIGKILL: a peer or a run must not outlive the suite, whatever it blocks.
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    for mount in "${mounts[@]}"; do umount "$mount" 2>/dev/null; done
    rm -rf "$root"
}
trap cleanup EXIT

rows=()
failures=0
user_flag=()
[ "$(id -u)" -eq 0 ] && user_flag=(-u nobody)

log() { printf 'reliability: %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {  # up to a minute: a busy machine starts peers slowly
    for _ in $(seq 600); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null && return 0
        sleep 0.1
    done
    log "nothing listens on port $1"
    return 1
}
query() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$db" "$1"; }

# smtp-sink dumping each message to DIR (it drops root to nobody, who must write there).
start_sink() {
    local directory=$1 port=$2
    mkdir -p "$directory" && chmod 777 "$directory"
    /usr/sbin/smtp-sink "${user_flag[@]}" -d "$directory/%Y%m%d%H%M%S." "127.0.0.1:$port" 256 &
    sink_pid=$!
    disown "$sink_pid"  # no "Killed" notice when cleanup ends it
    pids+=("$sink_pid")
    wait_port "$port"
}

# A fresh data directory with the examples to ingest and $subscribers confirmed subscribers.
prepare() {
    local name=$1 port=$2 mail=${3:-}
    work=$root/$name
    mkdir -p "$work"
    cat >"$work/newsletter.toml" <<TOML
data_dir = "data"
outbox_dir = "outbox"
templates_dir = "$repo/templates"
[ingest]
sources = ["$repo/examples"]
[run]
approval = "auto"
missed = "send-late"
[mail]
from = "digest@shiporskip.example"
retries = 3
${mail:-concurrency = 4}
[smtp]
url = "smtp://127.0.0.1:$port"
allow_plaintext = true
connect_timeout_seconds = 3
command_timeout_seconds = 5
TOML
    # Scenarios 1–4 are about delivery: no model. Scenario 5 appends its own [summaries].
    [ "$name" = llm ] || printf '[summaries]\nenabled = false\n' >>"$work/newsletter.toml"
    db=$work/data/newsletter.sqlite
    nl status >/dev/null  # creates and migrates the store
    python3 "$repo/scripts/seed_subscribers.py" "$db" "$subscribers"
}

nl() { local command=$1; shift; "$bin" "$command" --config "$work/newsletter.toml" "$@"; }
run_once() { nl run --week "$week" >>"$work/runs.log" 2>&1; }

# Runs until a run exits 0, as cron would week after week; prints the exit statuses.
run_until_done() {
    local statuses=() status
    for _ in $(seq "${1:-8}"); do
        run_once
        status=$?
        statuses+=("$status")
        [ "$status" -eq 0 ] && break
    done
    echo "${statuses[*]}"
}

# Adds a table row from tally.py's line; counts failures.
record() {
    local scenario=$1 note=$2 tally
    shift 2
    tally=$(python3 scripts/reliability/tally.py --db "$db" --week "$week" "$@" 2>>"$work/tally.log")
    local check=$?
    read -r total once duplicates lost refused <<<"$tally"
    # A scenario whose set-up silently failed would count nobody and so lose nobody: the number
    # of recipients must be the list's size.
    if [ "$check" -ne 0 ] || [ "${lost:-1}" != 0 ] || [ "${total:-0}" != "$subscribers" ]; then
        failures=$((failures + 1))
        note="$note; FAILED: $(tr '\n' ' ' <"$work/tally.log")"
    fi
    [ "${refused:-0}" != 0 ] && note="$note; $refused refused with 550, all recorded failed"
    rows+=("$scenario|$total|$once|$duplicates|$lost|$note")
}

fail_row() {
    failures=$((failures + 1))
    rows+=("$1|$subscribers|-|-|-|FAILED: $2")
}

scenario_faults() {
    log "1: 451/550/dropped connections (aiosmtpd peer)"
    local dir=$root/faults
    mkdir -p "$dir"
    "$peers_python" scripts/reliability/faulty_smtp.py --log "$dir/delivered.log" --refused "$dir/refused.log" \
        --faults "$dir/faults.log" \
        --temporary 0.10 --permanent 0.01 --drop 0.02 --seed "$seed" >"$dir/port" 2>"$dir/peer.log" &
    pids+=("$!")
    disown "$!"
    for _ in $(seq 600); do [ -s "$dir/port" ] && break; sleep 0.1; done
    local port
    port=$(head -1 "$dir/port")
    wait_port "$port" || { fail_row "1 RCPT 451 10 %, 550 1 %, drops" "the peer did not start"; return; }
    prepare faults "$port" "concurrency = 8"
    local statuses
    statuses=$(run_until_done 10)
    local injected
    injected=$(sort "$dir/faults.log" | uniq -c | awk '{ printf "%s%s × %s", sep, $1, $2; sep = ", " }')
    record "1 RCPT 451 10 %, 550 1 %, drops" "peer injected $injected; runs exited: $statuses" --log "$dir/delivered.log" \
        --refused "$dir/refused.log"
}

# Starts `run` three times and kill -9s it at a random moment each time, adding the moments and
# how many the ledger had sent by then to the caller's `moments` and `sent_at`.
kill_run_three_times() {
    for kill in 1 2 3; do
        # The first moment falls in start-up, ingest or building the draft, the others mid-send.
        local moment=$((kill == 1 ? (RANDOM % 300) + 20 : (RANDOM % 2700) + 300))
        # The binary itself, not a shell function around it: kill -9 must hit the run.
        "$bin" run --config "$work/newsletter.toml" --week "$week" >>"$work/runs.log" 2>&1 &
        local pid=$!
        pids+=("$pid")
        sleep "$(printf '%d.%03d' $((moment / 1000)) $((moment % 1000)))"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        moments+=("${moment}ms")
        sent_at+=("$(query "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")")
    done
}

scenario_kills() {
    log "2: kill -9 at three random moments (smtp-sink)"
    local port moments=() sent_at=()
    port=$(free_port)
    start_sink "$root/kills-sink" "$port" || { fail_row "2 kill -9 x3" "smtp-sink did not start"; return; }
    # A rate limit stretches the send over a few seconds, so the moments land in every phase.
    prepare kills "$port" $'concurrency = 4\nmessages_per_second = 600'
    kill_run_three_times
    local statuses
    statuses=$(run_until_done 5)
    record "2 kill -9 x3, each re-run" \
        "killed at ${moments[*]} (ledger sent then: ${sent_at[*]}); re-runs exited: $statuses; duplicates allowed: in-flight only, ≤ 3 × 4 connections" \
        --sink-dir "$root/kills-sink"
    local last=${rows[-1]}
    local duplicates
    duplicates=$(cut -d'|' -f4 <<<"$last")
    if [ "${duplicates:-0}" -gt 12 ]; then
        failures=$((failures + 1))
        rows[-1]="$last; FAILED: more duplicates than messages in flight"
    fi
}

# 2b: as 2, with a quarter of the list each on one of four topic choices; every copy must also
# be its recipient's frozen variant.
scenario_variant_kills() {
    log "2b: kill -9 at three random moments, four topic variants (smtp-sink)"
    local port moments=() sent_at=()
    port=$(free_port)
    start_sink "$root/variants-sink" "$port" || { fail_row "2b kill -9 x3, 4 variants" "smtp-sink did not start"; return; }
    prepare variants "$port" $'concurrency = 4\nmessages_per_second = 600'
    nl ingest >/dev/null 2>&1  # the topics come from the pages: known before the choices are
    python3 scripts/reliability/variants.py seed "$db"
    kill_run_three_times
    local statuses check
    statuses=$(run_until_done 5)
    check=$(python3 scripts/reliability/variants.py check "$db" "$root/variants-sink" 2>>"$work/tally.log")
    local check_status=$?
    record "2b kill -9 x3, 4 topic variants" \
        "killed at ${moments[*]} (ledger sent then: ${sent_at[*]}); re-runs exited: $statuses; $check (each copy its recipient's variant)" \
        --sink-dir "$root/variants-sink"
    if [ "$check_status" -ne 0 ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: copies of another variant than the recipient's"
    fi
}

scenario_server_down() {
    log "3: SMTP server down for a whole run (smtp-sink)"
    local port first output sent sending
    port=$(free_port)  # nothing listens here yet
    prepare down "$port"
    output=$(nl run --week "$week" 2>&1)
    first=$?
    sent=$(query "SELECT COUNT(*) FROM delivery WHERE state IN ('sent', 'sending')")
    if [ "$first" -ne 69 ] || [ "$sent" -ne 0 ] || ! grep -q "mail server failed" <<<"$output"; then
        fail_row "3 server down, then up" "first run exited $first with $sent marked sent: $(tail -1 <<<"$output")"
        return
    fi
    start_sink "$root/down-sink" "$port" || { fail_row "3 server down, then up" "smtp-sink did not start"; return; }
    local statuses
    statuses=$(run_until_done 3)
    record "3 server down, then up" \
        "down: exit 69, 0 marked sent, \"$(grep -o 'mail server failed[^;]*' <<<"$output" | head -1 | cut -c1-70)…\"; next runs exited: $statuses" \
        --sink-dir "$root/down-sink"
}

scenario_disk_full() {
    log "4: outbox disk full (tmpfs)"
    local port output first
    port=$(free_port)
    start_sink "$root/full-sink" "$port" || { fail_row "4 outbox disk full" "smtp-sink did not start"; return; }
    prepare full "$port"
    mkdir -p "$work/outbox"
    if ! mount -t tmpfs -o size=256k tmpfs "$work/outbox" 2>"$work/mount.log"; then
        rows+=("4 outbox disk full|$subscribers|-|-|-|skipped: cannot mount a tmpfs here ($(head -1 "$work/mount.log")); a loop device needs the same privilege")
        return
    fi
    mounts+=("$work/outbox")
    dd if=/dev/zero of="$work/outbox/filler" bs=4k 2>/dev/null  # until ENOSPC
    output=$(nl run --week "$week" 2>&1)
    first=$?
    local rows_in_ledger draft temporaries
    rows_in_ledger=$(query "SELECT COUNT(*) FROM delivery")
    draft=$(query "SELECT COUNT(*) FROM issue WHERE draft_hash IS NOT NULL")
    temporaries=$(find "$work/outbox" -name '*.tmp' | wc -l)
    if [ "$first" -ne 74 ] || [ "$rows_in_ledger" -ne 0 ] || [ "$draft" -ne 0 ] || [ "$temporaries" -ne 0 ] \
        || ! grep -qi "space" <<<"$output"; then
        fail_row "4 outbox disk full" "exit $first, ledger rows $rows_in_ledger, drafts $draft, temporaries $temporaries: $(tail -1 <<<"$output")"
        return
    fi
    rm -f "$work/outbox/filler"
    local statuses
    statuses=$(run_until_done 3)
    record "4 outbox disk full, then space" \
        "full: exit 74, no draft, no ledger rows, no stray temporaries, \"$(grep -o "could not write[^:]*: [^;]*" <<<"$output" | head -1 | sed "s|$work/||")\"; next runs exited: $statuses" \
        --sink-dir "$root/full-sink"
}

scenario_llm_killed() {
    log "5: LLM runtime killed mid-summary"
    local hook=${RELIABILITY_LLM_TOML:-$repo/scripts/reliability/llm.toml}
    if [ ! -f "$hook" ]; then
        rows+=("5 LLM runtime killed|$subscribers|-|-|-|skipped: no $(basename "$hook") (a [summaries] section naming the local runtime)")
        return
    fi
    local port
    port=$(free_port)
    start_sink "$root/llm-sink" "$port" || { fail_row "5 LLM runtime killed" "smtp-sink did not start"; return; }
    prepare llm "$port"
    cat "$hook" >>"$work/newsletter.toml"
    "$bin" run --config "$work/newsletter.toml" --week "$week" >>"$work/runs.log" 2>&1 &
    local run_pid=$! runtime=""
    pids+=("$run_pid")
    for _ in $(seq 600); do  # up to 60 s for the runtime to start
        runtime=$(pgrep -P "$run_pid" -f llama-server | head -1)
        [ -n "$runtime" ] && break
        sleep 0.1
    done
    if [ -z "$runtime" ]; then
        kill -9 "$run_pid" 2>/dev/null
        fail_row "5 LLM runtime killed" "no llama-server child of the run appeared"
        return
    fi
    # Mid-summary, not mid-load: wait until the runtime answers /health (the model is loaded and
    # the run is sending it requests), then kill it a moment later.
    local runtime_port
    runtime_port=$(tr '\0' ' ' <"/proc/$runtime/cmdline" 2>/dev/null | grep -o -- '--port [0-9]*' | cut -d' ' -f2)
    for _ in $(seq 600); do
        [ -n "$runtime_port" ] && curl -sf "http://127.0.0.1:$runtime_port/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    sleep 0.3
    kill -9 "$runtime"
    wait "$run_pid"
    local first=$? statuses
    statuses=$(run_until_done 3)
    local providers
    providers=$(nl status --week "$week" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["summaryProviders"])')
    record "5 LLM runtime killed" "run with the runtime killed exited $first; then $statuses; summaries: $providers" \
        --sink-dir "$root/llm-sink"
}

# Debian's Dovecot on a free loopback port with the tests' configuration template, one user
# and a Maildir; sets imap_port, mailbox_ca and maildir.
start_mailbox() {
    local dir=$1
    mkdir -p "$dir/home/Maildir/new" "$dir/home/Maildir/cur" "$dir/home/Maildir/tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
        -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1 || return 1
    printf 'bounces:{PLAIN}reliability-pass::::::\n' >"$dir/passwd"
    local uid gid login internal dh=""
    if [ "$(id -u)" -eq 0 ]; then uid=65534 gid=65534 login=dovenull internal=dovecot
    else uid=$(id -u) gid=$(id -g) login=$(id -un) internal=$(id -un); fi
    [ -f /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
    imap_port=$(free_port)
    local pop3_port
    pop3_port=$(free_port)
    sed -e "s|@DIR@|$dir|g" -e "s|@CERT@|$dir/cert.pem|g" -e "s|@KEY@|$dir/key.pem|g" -e "s|@SSL_DH@|$dh|g" \
        -e "s|@LOGIN_USER@|$login|g" -e "s|@INTERNAL_USER@|$internal|g" -e "s|@MAILDIR@|$dir/home/Maildir|g" \
        -e "s|@UID@|$uid|g" -e "s|@GID@|$gid|g" -e "s|@HOME@|$dir/home|g" -e "s|@IMAP_PORT@|$imap_port|g" \
        -e "s|@POP3_PORT@|$pop3_port|g" "$repo/Tests/NewsletterCoreTests/Fixtures/tools/dovecot.conf.template" \
        >"$dir/dovecot.conf"
    chown -R "$uid:$gid" "$dir/home"
    /usr/sbin/dovecot -F -c "$dir/dovecot.conf" 2>>"$dir/dovecot.err" &
    local pid=$!
    disown "$pid"
    pids+=("$pid")
    mailbox_ca=$dir/cert.pem
    maildir=$dir/home/Maildir
    wait_port "$imap_port"
}

scenario_bounces() {
    log "6: bounce mailbox, bounces fetch killed with -9 mid-way (Dovecot)"
    local name="6 bounces: fetch kill -9, re-fetch"
    if [ ! -x /usr/sbin/dovecot ]; then
        rows+=("$name|$subscribers|-|-|-|skipped: Dovecot is not installed (scripts/setup-debian.sh)")
        return
    fi
    local port
    port=$(free_port)
    start_sink "$root/bounces-sink" "$port" || { fail_row "$name" "smtp-sink did not start"; return; }
    prepare bounces "$port" $'concurrency = 4\nbounce_address = "bounces@shiporskip.example"'
    local statuses
    statuses=$(run_until_done 3)
    # The delivery is checked now: complaints below unsubscribe people who did get this issue.
    record "$name" "sends exited: $statuses" --sink-dir "$root/bounces-sink"
    start_mailbox "$root/bounces-mailbox" || { fail_row "$name" "dovecot did not start: $(tail -3 "$root/bounces-mailbox/dovecot.log" 2>/dev/null)"; return; }
    local reports
    reports=$(python3 scripts/reliability/bounce_mailbox.py deliver --sink-dir "$root/bounces-sink" \
        --maildir "$maildir" --expected "$work/bounces.expected" --seed "$seed")
    [ "$(id -u)" -eq 0 ] && chown -R 65534:65534 "$maildir"
    cat >>"$work/newsletter.toml" <<TOML
[bounces]
mailbox_url = "imap://127.0.0.1:$imap_port/INBOX"
username = "bounces"
password = "reliability-pass"
ca_file = "$mailbox_ca"
TOML
    # Killed once a third of the reports are stored: some stored and deleted, some stored and
    # not yet deleted (or deleted but not expunged), the rest untouched.
    "$bin" bounces fetch --config "$work/newsletter.toml" >>"$work/fetch.log" 2>&1 &
    local pid=$! stored_at_kill=0
    pids+=("$pid")
    for _ in $(seq 600); do
        stored_at_kill=$(query "SELECT COUNT(*) FROM bounce_event WHERE source = 'mailbox'" 2>/dev/null || echo 0)
        [ "${stored_at_kill:-0}" -ge $((reports / 3)) ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local left_at_kill
    left_at_kill=$(find "$maildir/new" "$maildir/cur" -type f | wc -l)
    "$bin" bounces fetch --config "$work/newsletter.toml" >>"$work/fetch.log" 2>&1
    local second=$?
    local left
    left=$(find "$maildir/new" "$maildir/cur" -type f | wc -l)
    local result
    result=$(python3 scripts/reliability/bounce_mailbox.py check --db "$db" --expected "$work/bounces.expected" \
        --week "$week" 2>"$work/bounces.check")
    read -r total_reports stored hard soft complaints autoreplies wrong <<<"$result"
    rows[-1]="${rows[-1]}; $reports reports ($hard hard, $soft soft, $complaints complaints, $autoreplies auto-replies stored, each once); killed with $stored_at_kill stored and $left_at_kill in the mailbox; re-fetch exited $second, $left left; subscriber states wrong: ${wrong:-?}"
    if [ "${wrong:-1}" != 0 ] || [ "$second" -ne 0 ] || [ "$left" -ne 0 ] || [ "$stored" != "$total_reports" ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: $(head -5 "$work/bounces.check" | tr '\n' ' ')"
    fi
}

# --- PostgreSQL: several senders sharing one database -------------------------------------

pg_dir=
# One throwaway cluster for scenarios 7–9 (each scenario its own database).
start_postgres() {
    [ -n "$pg_dir" ] && return 0
    pg_dir=$root/postgres
    pg_server=$("$repo/scripts/pg-cluster.sh" start "$pg_dir" 2>"$root/pg-start.log") || { pg_dir=; return 1; }
    stop_postgres() { "$repo/scripts/pg-cluster.sh" stop "$pg_dir" >/dev/null 2>&1; }
    trap 'stop_postgres; cleanup' EXIT
}

# prepare, then the SQLite store copied into a new database of the cluster, and store.url set.
# LEASE: the senders' lease in seconds (short, so a dead or stalled sender's rows come back soon).
prepare_postgres() {
    local name=$1 port=$2 mail=$3 lease=$4
    local saved=$subscribers
    subscribers=${RELIABILITY_PG_SUBSCRIBERS:-20000}
    prepare "$name" "$port" "$mail"
    subscribers=$saved
    local database=r_${name//[^a-z0-9]/_}
    psql -q "$pg_server" -c "CREATE DATABASE $database" >/dev/null
    pg_url="${pg_server%/*}/$database?sslmode=disable&lease_seconds=$lease&query_timeout=15"
    "$bin" store copy --config "$work/newsletter.toml" --to "$pg_url" >>"$work/runs.log" 2>&1 || return 1
    printf '[store]\nurl = "%s"\n' "$pg_url" >>"$work/newsletter.toml"
    nl ingest >>"$work/runs.log" 2>&1 && nl preview --week "$week" >>"$work/runs.log" 2>&1 \
        && nl approve --week "$week" >>"$work/runs.log" 2>&1
}

pg_query() { psql -At "${pg_url%%\?*}" -c "$1"; }

# `send` until one exits 0 (or N tries); prints the exit statuses.
send_until_done() {
    local statuses=() status
    for _ in $(seq "${1:-6}"); do
        nl send --week "$week" >>"$work/runs.log" 2>&1
        status=$?
        statuses+=("$status")
        [ "$status" -eq 0 ] && break
        sleep 1
    done
    echo "${statuses[*]}"
}

pg_record() {
    local scenario=$1 note=$2 allowed=$3
    shift 3
    local saved=$subscribers
    subscribers=${RELIABILITY_PG_SUBSCRIBERS:-20000}
    record "$scenario" "$note" --psql "${pg_url%%\?*}" "$@"
    subscribers=$saved
    local duplicates
    duplicates=$(cut -d'|' -f4 <<<"${rows[-1]}")
    if [ "${duplicates:-0}" -gt "$allowed" ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: more duplicates than the $allowed messages that can be in flight"
    fi
}

scenario_pg_three_senders() {
    local name="7 PG: 3 senders, one kill -9"
    log "$name"
    start_postgres || { fail_row "$name" "PostgreSQL did not start: $(tail -3 "$root/pg-start.log")"; return; }
    local port
    port=$(free_port)
    start_sink "$root/pg3-sink" "$port" || { fail_row "$name" "smtp-sink did not start"; return; }
    # Each sender paced (a host's relay quota), so the send lasts long enough to be killed in.
    prepare_postgres pg3 "$port" $'concurrency = 4\nmessages_per_second = 700' 5 \
        || { fail_row "$name" "set-up failed: $(tail -3 "$work/runs.log")"; return; }
    local senders=() index
    for index in 1 2 3; do
        "$bin" send --config "$work/newsletter.toml" --week "$week" >>"$work/send-$index.log" 2>&1 &
        senders+=("$!")
        pids+=("$!")
    done
    local moment=$(((RANDOM % 4000) + 1500))
    sleep "$(printf '%d.%03d' $((moment / 1000)) $((moment % 1000)))"
    local sent_then
    sent_then=$(pg_query "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
    kill -9 "${senders[1]}" 2>/dev/null
    local exits=()
    for index in 0 1 2; do
        wait "${senders[$index]}" 2>/dev/null
        exits+=("$?")
    done
    # The dead sender's rows come back once its lease (5 s) has run out.
    sleep 6
    local statuses
    statuses=$(send_until_done 4)
    pg_record "$name" \
        "sender 2 killed at ${moment}ms (ledger sent then: $sent_then); the three exited ${exits[*]}; later sends exited: $statuses; duplicates allowed: the killed sender's 4 connections" \
        4 --sink-dir "$root/pg3-sink"
}

scenario_pg_restart() {
    local name="8 PG: pg_ctl restart mid-send"
    log "$name"
    start_postgres || { fail_row "$name" "PostgreSQL did not start: $(tail -3 "$root/pg-start.log")"; return; }
    local port
    port=$(free_port)
    start_sink "$root/pgrestart-sink" "$port" || { fail_row "$name" "smtp-sink did not start"; return; }
    prepare_postgres pgrestart "$port" $'concurrency = 4\nmessages_per_second = 1500' 5 \
        || { fail_row "$name" "set-up failed: $(tail -3 "$work/runs.log")"; return; }
    local senders=() index
    for index in 1 2; do
        "$bin" send --config "$work/newsletter.toml" --week "$week" >>"$work/send-$index.log" 2>&1 &
        senders+=("$!")
        pids+=("$!")
    done
    local moment=$(((RANDOM % 3000) + 1500))
    sleep "$(printf '%d.%03d' $((moment / 1000)) $((moment % 1000)))"
    local sent_then
    sent_then=$(pg_query "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
    "$repo/scripts/pg-cluster.sh" restart "$pg_dir"
    local exits=()
    for index in 0 1; do
        wait "${senders[$index]}" 2>/dev/null
        exits+=("$?")
    done
    sleep 6
    local statuses
    statuses=$(send_until_done 4)
    pg_record "$name" \
        "restarted at ${moment}ms (ledger sent then: $sent_then); the two senders exited ${exits[*]}; later sends exited: $statuses; duplicates allowed: what 2 × 4 connections had in flight" \
        8 --sink-dir "$root/pgrestart-sink"
}

scenario_pg_stalled_sender() {
    local name="9 PG: sender SIGSTOP past its lease"
    log "$name"
    start_postgres || { fail_row "$name" "PostgreSQL did not start: $(tail -3 "$root/pg-start.log")"; return; }
    local port
    port=$(free_port)
    start_sink "$root/pgstop-sink" "$port" || { fail_row "$name" "smtp-sink did not start"; return; }
    prepare_postgres pgstop "$port" $'concurrency = 4\nmessages_per_second = 1000' 3 \
        || { fail_row "$name" "set-up failed: $(tail -3 "$work/runs.log")"; return; }
    "$bin" send --config "$work/newsletter.toml" --week "$week" >>"$work/send-stalled.log" 2>&1 &
    local stalled=$!
    pids+=("$stalled")
    local moment=$(((RANDOM % 3000) + 1500))
    sleep "$(printf '%d.%03d' $((moment / 1000)) $((moment % 1000)))"
    kill -STOP "$stalled"
    local held
    held=$(pg_query "SELECT COUNT(*) FROM delivery WHERE state = 'sending'")
    # Past its 3 s lease: another sender takes its rows and finishes the week.
    sleep 5
    local statuses
    statuses=$(send_until_done 4)
    local taken_sent
    taken_sent=$(pg_query "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
    kill -CONT "$stalled"
    wait "$stalled" 2>/dev/null
    local stalled_exit=$?
    local sent_after
    sent_after=$(pg_query "SELECT COUNT(*) FROM delivery WHERE state = 'sent'")
    local refused
    refused=$(grep -c "taken over by another sender" "$work/send-stalled.log")
    pg_record "$name" \
        "stopped at ${moment}ms holding $held rows; the other sends exited: $statuses; woken, it exited $stalled_exit and wrote $((sent_after - taken_sent)) records over the new owners (must be 0; its refused records were logged $refused time(s)); duplicates allowed: its 4 connections' messages in flight" \
        4 --sink-dir "$root/pgstop-sink"
    if [ "$sent_after" != "$taken_sent" ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: the stalled sender changed the ledger after it woke"
    fi
}

scenario_three_relays() {
    local name="10 three relays: kill -9, 421"
    log "$name"
    local dir=$root/relays relay port ports=()
    mkdir -p "$dir"
    touch "$dir/busy.flag"  # the busy relay answers 421 while this exists
    for relay in steady busy doomed; do
        "$peers_python" scripts/reliability/relay_smtp.py --name "$relay" --log "$dir/$relay.log" \
            --busy-while "$([ "$relay" = busy ] && echo "$dir/busy.flag" || echo "$dir/never")" \
            >"$dir/$relay.port" 2>"$dir/$relay.err" &
        pids+=("$!")
        eval "${relay}_pid=$!"
        disown "$!"
        for _ in $(seq 600); do [ -s "$dir/$relay.port" ] && break; sleep 0.1; done
        port=$(head -1 "$dir/$relay.port")
        wait_port "$port" || { fail_row "$name" "relay $relay did not start: $(tail -3 "$dir/$relay.err")"; return; }
        ports+=("$port")
        touch "$dir/$relay.log"
    done
    prepare relays "${ports[0]}"
    # The one smtp.url becomes three relays of one priority, each paced so the send lasts a few
    # seconds: long enough to kill one in and to keep one busy.
    sed -i '/^url = "smtp:/d' "$work/newsletter.toml"
    local index=0
    for relay in steady busy doomed; do
        printf '[[smtp.relays]]\nname = "%s"\nurl = "smtp://127.0.0.1:%s"\nallow_plaintext = true\nmessages_per_second = 300\nconnections = 4\n' \
            "$relay" "${ports[$index]}" >>"$work/newsletter.toml"
        index=$((index + 1))
    done
    "$bin" run --config "$work/newsletter.toml" --week "$week" >>"$work/runs.log" 2>&1 &
    local run=$!
    pids+=("$run")
    # Points in the work, not times: the doomed relay dies once it has taken 150 copies, and the
    # busy one stops answering 421 once the steady one has taken 600.
    local killed_at=- busy_until=-
    while kill -0 "$run" 2>/dev/null; do
        if [ "$killed_at" = - ] && [ "$(wc -l <"$dir/doomed.log")" -ge 150 ]; then
            kill -9 "$doomed_pid"
            killed_at=$(wc -l <"$dir/doomed.log")
        fi
        if [ "$busy_until" = - ] && [ "$(wc -l <"$dir/steady.log")" -ge 600 ]; then
            rm -f "$dir/busy.flag"
            busy_until=$(wc -l <"$dir/steady.log")
        fi
        sleep 0.05
    done
    wait "$run"
    local first=$?
    kill -9 "$doomed_pid" 2>/dev/null
    rm -f "$dir/busy.flag"
    local statuses=$first
    [ "$first" -eq 0 ] || statuses="$first $(run_until_done 4)"
    local check
    check=$(python3 scripts/reliability/relays.py --db "$db" --week "$week" --log "$dir/steady.log" \
        --log "$dir/busy.log" --log "$dir/doomed.log" 2>>"$work/tally.log")
    local check_status=$?
    local refusals
    refusals=$(grep -c "relay down" "$work/runs.log")
    record "$name" \
        "doomed killed after $killed_at copies, busy answered 421 until steady had $busy_until; $refusals relay-down events; runs exited: $statuses; the ledger: $check; duplicates allowed: the killed relay's 4 connections" \
        --log "$dir/steady.log" --log "$dir/busy.log" --log "$dir/doomed.log"
    local duplicates
    duplicates=$(cut -d'|' -f4 <<<"${rows[-1]}")
    if [ "${duplicates:-0}" -gt 4 ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: more duplicates than the killed relay's 4 connections had in flight"
    fi
    if [ "$check_status" -ne 0 ] || [ "$killed_at" = - ]; then
        failures=$((failures + 1))
        rows[-1]="${rows[-1]}; FAILED: $([ "$killed_at" = - ] && echo "the doomed relay was never killed mid-send; ")$(tr '\n' ' ' <"$work/tally.log")"
    fi
}

started=$(date +%s)
log "seed $seed, $subscribers subscribers, $bin"
# RELIABILITY_ONLY="2 6" runs just those scenarios.
want() { [ -z "${RELIABILITY_ONLY:-}" ] || [[ " $RELIABILITY_ONLY " == *" $1 "* ]]; }
want 1 && scenario_faults
want 2 && scenario_kills
want 2b && scenario_variant_kills
want 3 && scenario_server_down
want 4 && scenario_disk_full
want 5 && scenario_llm_killed
want 6 && scenario_bounces
want 7 && scenario_pg_three_senders
want 8 && scenario_pg_restart
want 9 && scenario_pg_stalled_sender
want 10 && scenario_three_relays

printf '\nnewsletter reliability suite: %d subscribers per scenario, seed %s, %d s\n\n' \
    "$subscribers" "$seed" "$(($(date +%s) - started))"
printf '| %-34s | %10s | %22s | %10s | %4s | %s\n' scenario recipients "delivered exactly once" duplicates lost notes
printf '|%s|%s|%s|%s|%s|%s\n' "$(printf -- '-%.0s' $(seq 36))" "$(printf -- '-%.0s' $(seq 12))" \
    "$(printf -- '-%.0s' $(seq 24))" "$(printf -- '-%.0s' $(seq 12))" "------" "------"
for row in "${rows[@]}"; do
    IFS='|' read -r scenario total once duplicates lost note <<<"$row"
    printf '| %-34s | %10s | %22s | %10s | %4s | %s\n' "$scenario" "$total" "$once" "$duplicates" "$lost" "$note"
done
if [ "$failures" -gt 0 ]; then
    printf '\n%d scenario(s) FAILED; runs.log and tally.log under each work directory (kept in %s)\n' "$failures" "$root"
    trap - EXIT
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    # The cluster's files stay for reading; its server does not.
    [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ] && kill -9 "$(head -1 "$pg_dir/data/postmaster.pid")" 2>/dev/null
    for mount in "${mounts[@]}"; do umount "$mount" 2>/dev/null; done
    exit 1
fi
printf '\nnobody lost.\n'
