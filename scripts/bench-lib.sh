# Sourced by the bench scripts (bench.sh, bench-profile.sh, bench-variants.sh, bench-run.sh,
# bench-scale.sh, bench/ledger-updates.sh): the setup they share, one loopback smtp-sink, a
# newsletter.toml pointed at it and, for the PostgreSQL ones, a throwaway cluster.

# Makes $work (removed at exit, with the sink) and starts Postfix's smtp-sink on a free
# 127.0.0.1 port ($port, $sink_pid); returns once it accepts connections.
bench_start_sink() {
    work=$(mktemp -d)
    sink_pid=
    trap bench_cleanup EXIT
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local user_flag=()
    [ "$(id -u)" -eq 0 ] && user_flag=(-u nobody)
    /usr/sbin/smtp-sink "${user_flag[@]}" "127.0.0.1:$port" 256 &
    sink_pid=$!
    disown "$sink_pid"  # no "Killed" notice when cleanup ends it
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
        sleep 0.1
    done
}

# After bench_start_sink: a throwaway PostgreSQL cluster in $work/postgres ($pg_dir; $pg_server,
# its URL), stopped at exit before the sink's cleanup.
bench_start_postgres() {
    chmod 755 "$work"  # the cluster's owner (postgres, when run as root) must reach its directory
    pg_dir=$work/postgres
    pg_server=$(./scripts/pg-cluster.sh start "$pg_dir")
    trap './scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1; bench_cleanup' EXIT
}

bench_cleanup() {
    [ -n "$sink_pid" ] && kill -9 "$sink_pid" 2>/dev/null
    rm -rf "$work"
}

# bench_config FILE SESSIONS [TOML]: a configuration that sends over SESSIONS connections to the
# sink, no retries, no summaries (they have their own benchmark: make bench-summaries); TOML is
# added as it is (more tables).
bench_config() {
    cat >"$1" <<TOML
data_dir = "data"
outbox_dir = "outbox"
templates_dir = "$PWD/templates"
[mail]
from = "digest@shiporskip.example"
concurrency = $2
retries = 0
[smtp]
url = "smtp://127.0.0.1:$port"
allow_plaintext = true
[summaries]
enabled = false
${3:-}
TOML
}
