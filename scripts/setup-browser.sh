#!/usr/bin/env bash
# Installs what scripts/preview_shots.py needs to screenshot a rendered issue, idempotently:
# Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium,
# pinned, from PyPI into the python3 on PATH (PYTHON=... picks another interpreter).
# Prints what it installs; prints nothing when everything is already in place. Run as root
# (or with sudo available). Not needed to build or test newsletter itself.
set -euo pipefail

SELENIUM_VERSION=4.51.0  # 4.52.0 needs a certifi newer than PyPI serves here
python=${PYTHON:-python3}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# Debian packages -------------------------------------------------------------------------------
packages=(chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ! command -v "$python" >/dev/null 2>&1; then
    missing+=(python3)
    python=python3
fi
if ((${#missing[@]})); then
    echo "setup-browser: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python=$(command -v "$python")

# selenium from PyPI ----------------------------------------------------------------------------
installed=$("$python" -c 'import selenium; print(selenium.__version__)' 2>/dev/null || true)
if [ "$installed" != "$SELENIUM_VERSION" ]; then
    if ! "$python" -m pip --version >/dev/null 2>&1; then
        echo "setup-browser: installing python3-pip (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        "${sudo_cmd[@]}" apt-get update -qq
        "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    fi
    pip_args=(install --quiet --disable-pip-version-check --root-user-action=ignore --no-input "selenium==$SELENIUM_VERSION")
    # Debian's own /usr/bin/python3 refuses pip installs (PEP 668) unless told otherwise.
    if "$python" -c 'import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' 2>/dev/null; then
        pip_args+=(--break-system-packages)
    fi
    echo "setup-browser: installing selenium==$SELENIUM_VERSION into $("$python" -c 'import sys; print(sys.executable)') (pip${installed:+, replacing $installed})"
    "${sudo_cmd[@]}" "$python" -m pip "${pip_args[@]}"
fi

# Check what was promised -----------------------------------------------------------------------
for binary in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$binary" ]; then
        echo "setup-browser: $binary is missing after install" >&2
        exit 1
    fi
done
