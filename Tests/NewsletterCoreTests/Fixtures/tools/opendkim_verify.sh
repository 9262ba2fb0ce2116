#!/bin/sh
# OpenDKIM's tools against a stub DNS. They look keys up only in the DNS (opendkim-testmsg has no
# key-file option), so they run in a network namespace of its own (loopback only: nothing leaves
# the machine) whose /etc/resolv.conf points at dns_stub.py serving the records given here;
# opendkim-testkey resolves through libunbound, told the same server with `Nameservers`.
# usage (as root): opendkim_verify.sh MESSAGE NAME=VALUE...       exit 0: the message verifies
#                  opendkim_verify.sh --testkey DOMAIN SELECTOR KEYFILE NAME=VALUE...
#                                                                 exit 0: the record matches the key
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${OPENDKIM_VERIFY_INSIDE:-}" != 1 ]; then
    OPENDKIM_VERIFY_INSIDE=1 exec unshare --net --mount sh "$0" "$@"
fi
mode=testmsg
if [ "$1" = --testkey ]; then
    mode=testkey domain=$2 selector=$3 key=$4
    shift 4
else
    message=$1
    shift
fi
ip link set lo up
work=$(mktemp -d)
stub=
trap '[ -z "$stub" ] || kill "$stub" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "nameserver 127.0.0.1" > "$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf
python3 "$here/dns_stub.py" 127.0.0.1 53 "$@" > "$work/stub.out" &
stub=$!
for _ in $(seq 1 100); do grep -q ready "$work/stub.out" 2>/dev/null && break; sleep 0.05; done
if [ "$mode" = testkey ]; then
    echo "Nameservers 127.0.0.1" > "$work/opendkim.conf"
    opendkim-testkey -x "$work/opendkim.conf" -vv -d "$domain" -s "$selector" -k "$key"
else
    opendkim-testmsg -t "$work" < "$message"
fi
