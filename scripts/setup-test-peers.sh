#!/usr/bin/env bash
# Python SMTP peers for the tests, in a virtual environment cached outside the clone and keyed
# by version: aiosmtpd (STARTTLS and AUTH, which Postfix's smtp-sink does not offer),
# feedparser (the archive's Atom feed is checked with it), and the dkimpy verifier (with PyNaCl
# for ed25519-sha256) that checks our DKIM signatures, and standardwebhooks, whose verifier the
# webhook receiver checks our signatures with, and schemathesis, which tests /api/v1 from its
# OpenAPI document (its `st` beside this python).
# Prints the environment's python on standard output. Idempotent: quiet when already there.
set -euo pipefail

AIOSMTPD_VERSION=1.4.6
DKIMPY_VERSION=1.1.8
PYNACL_VERSION=1.6.2
FEEDPARSER_VERSION=6.0.11
STANDARDWEBHOOKS_VERSION=1.3.0
SCHEMATHESIS_VERSION=4.32.5
cache=${XDG_CACHE_HOME:-$HOME/.cache}/newsletter
venv=$cache/test-peers-aiosmtpd-$AIOSMTPD_VERSION

if ! "$venv/bin/python" -c "import aiosmtpd" >/dev/null 2>&1; then
    echo "setup-test-peers: installing aiosmtpd==$AIOSMTPD_VERSION into $venv" >&2
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
        sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" >&2
fi
if ! "$venv/bin/python" -c "import dkim, nacl, importlib.metadata as m; assert m.version('dkimpy') == '$DKIMPY_VERSION'" >/dev/null 2>&1; then
    echo "setup-test-peers: installing dkimpy==$DKIMPY_VERSION pynacl==$PYNACL_VERSION into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "dkimpy==$DKIMPY_VERSION" "pynacl==$PYNACL_VERSION" >&2
fi
if ! "$venv/bin/python" -c "import feedparser; assert feedparser.__version__ == '$FEEDPARSER_VERSION'" >/dev/null 2>&1; then
    echo "setup-test-peers: installing feedparser==$FEEDPARSER_VERSION into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "feedparser==$FEEDPARSER_VERSION" >&2
fi
if ! "$venv/bin/python" -c "import standardwebhooks, importlib.metadata as m; assert m.version('standardwebhooks') == '$STANDARDWEBHOOKS_VERSION'" >/dev/null 2>&1; then
    echo "setup-test-peers: installing standardwebhooks==$STANDARDWEBHOOKS_VERSION into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION" >&2
fi
if ! "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('schemathesis') == '$SCHEMATHESIS_VERSION'" >/dev/null 2>&1; then
    echo "setup-test-peers: installing schemathesis==$SCHEMATHESIS_VERSION into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
echo "$venv/bin/python"
