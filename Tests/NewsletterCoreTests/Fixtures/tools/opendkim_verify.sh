#!/bin/sh
# Verifies a message with OpenDKIM's opendkim-testmsg, which looks keys up in the DNS and has no
# option for a key file: it runs in a network namespace of its own (loopback only, nothing leaves
# the machine) whose /etc/resolv.conf points at dns_stub.py serving the records given here.
# usage: opendkim_verify.sh MESSAGE NAME=VALUE...   (as root; exit 0 when the message verifies)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${OPENDKIM_VERIFY_INSIDE:-}" != 1 ]; then
    OPENDKIM_VERIFY_INSIDE=1 exec unshare --net --mount sh "$0" "$@"
fi
message=$1
shift
ip link set lo up
work=$(mktemp -d)
trap 'kill "$stub" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "nameserver 127.0.0.1" > "$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf
python3 "$here/dns_stub.py" 127.0.0.1 53 "$@" > "$work/stub.out" &
stub=$!
for _ in $(seq 1 100); do grep -q ready "$work/stub.out" 2>/dev/null && break; sleep 0.05; done
opendkim-testmsg -t "$work" < "$message"
