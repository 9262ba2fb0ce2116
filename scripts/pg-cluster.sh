#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests and benchmarks: initdb into a temporary
# directory, postgres on 127.0.0.1 at a free port (password auth, scram-sha-256), stopped and
# removed at the end. initdb and pg_ctl refuse root, so as root they run as `postgres`.
#
#   pg-cluster.sh start DIR      start a cluster in DIR (created, must be empty); prints its URL
#   pg-cluster.sh stop DIR       stop it and remove DIR
#   pg-cluster.sh restart DIR    pg_ctl restart -m fast (the reliability rows)
#   pg-cluster.sh url DIR        the URL again
#   pg-cluster.sh run CMD...     start one in a new temporary directory, run CMD with
#                                NEWSLETTER_TEST_POSTGRES_URL set, stop it whatever CMD did
set -euo pipefail

pg_bin() {
    local dir
    for dir in "${PG_BIN:-}" /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
    done
    echo "pg-cluster: no PostgreSQL server binaries (install Debian's postgresql: scripts/setup-debian.sh)" >&2
    exit 69
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Closes every descriptor but stdin, stdout and stderr. Run in the subshell that starts the
# server: a caller's system(3) hands us every descriptor it has open (pipes of other processes it
# is spawning at that moment among them), and the server, which outlives us, would hold their
# write ends for its whole life, so whoever reads such a pipe would never see its end.
close_inherited() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

start() {
    local dir=$1 bin port password
    bin=$(pg_bin)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$dir/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
    as_owner "$bin/initdb" -D "$dir/data" -U newsletter --pwfile="$dir/pwfile" -A scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 70; }
    rm -f "$dir/pwfile"
    # A test cluster: durability against an OS crash is not needed (a killed server or a fast
    # restart still keeps every commit), speed on a busy machine is.
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
max_connections = 200
CONF
    local attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        # The server keeps no descriptor of ours nor any we inherited: a caller reading our
        # output, or any pipe it had open, sees its end.
        if (close_inherited && as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" \
            -w -t 120 start) </dev/null >/dev/null 2>>"$dir/pg_ctl.log"; then
            printf 'postgresql://newsletter:%s@127.0.0.1:%s/postgres\n' "$password" "$port" >"$dir/url"
            [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/url"
            cat "$dir/url"
            return
        fi
    done
    tail -20 "$dir/server.log" >&2
    exit 70
}

stop() {
    local dir=$1 bin
    bin=$(pg_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start "${2:?directory}" ;;
stop) stop "${2:?directory}" ;;
restart) as_owner "$(pg_bin)/pg_ctl" -D "${2:?directory}/data" -l "${2}/server.log" -m fast -w restart >/dev/null ;;
url) cat "${2:?directory}/url" ;;
run)
    shift
    dir=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-pg.XXXXXX")
    trap 'stop "$dir"' EXIT
    trap 'exit 143' TERM INT   # so a killed run still stops its cluster (the EXIT trap)
    NEWSLETTER_TEST_POSTGRES_URL=$(start "$dir")
    export NEWSLETTER_TEST_POSTGRES_URL
    "$@"
    ;;
*)
    echo "usage: $0 start|stop|restart|url DIR, or $0 run CMD..." >&2
    exit 64
    ;;
esac
