#!/usr/bin/env bash
# Installs what newsletter needs on Debian 12, idempotently: a second run that finds everything
# in place installs nothing. Run as root (or with sudo available).
set -euo pipefail

packages=(
    pkg-config
    libcurl4-openssl-dev   # CNewsletterCurl: page and feed fetching (and SMTP later)
    libxml2-dev            # CNewsletterXML2: HTML pages and feeds
    libsqlite3-dev         # GRDB's system SQLite
    ca-certificates        # https sources
    opendkim-tools         # opendkim-testmsg and opendkim-testkey: a second real DKIM verifier for the tests
    postfix                # smtp-sink and smtp-source: real SMTP peers for tests and benchmarks (the service is not used)
    dovecot-imapd          # the bounce mailbox for tests (IMAP): started per test on loopback, the service is not used
    dovecot-pop3d          # ... and over POP3
    openssl                # test certificates for the mailbox's STARTTLS
    faketime               # the tests run the built binary with the system clock moved (the demo on any date)
    postgresql             # the PostgreSQL store's tests and benchmarks: a throwaway cluster per run (scripts/pg-cluster.sh)
    stress-ng              # make bench-summaries: one CPU hog beside the week of summaries it times
)
command -v python3 >/dev/null 2>&1 || packages+=(python3)  # the tests' local HTTP server

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "setup: system packages already installed"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: no Swift toolchain on PATH; newsletter needs Swift 6.1 or later (swift.org toolchains)" >&2
    exit 1
fi
