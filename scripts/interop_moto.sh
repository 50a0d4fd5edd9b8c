#!/usr/bin/env bash
# Runs ferry's temporary-credential interop tests (STS GetSessionToken with MFA, AssumeRole,
# role profiles, whoami) against moto's S3 + IAM + STS on loopback.
#
#   scripts/interop_moto.sh [CARGO_TEST_ARGS...] [-- TEST_BINARY_ARGS...]
#   scripts/interop_moto.sh --exec COMMAND [ARGS...]   # run COMMAND instead of cargo test
#
# What it does, on a fresh machine too:
#   1. installs moto (PyPI `moto[server]`, which brings boto3, and `awscrt`, without which moto
#      gets CRC64NVME checksums wrong) and the AWS CLI (`awscli`, whose role cache ferry
#      shares) into .venv/moto, once;
#   2. builds the `ferry` binary and the test target before starting anything;
#   3. starts `moto_server -H 127.0.0.1 -p PORT` on a free port with
#      INITIAL_NO_AUTH_ACTION_COUNT=3: moto serves the first 3 actions unauthenticated, then
#      checks every request's SigV4 signature and the caller's IAM policies;
#   4. waits (bounded) until moto answers;
#   5. sets up, through moto's own APIs (boto3):
#        unauthenticated (exactly the 3 free actions):
#          iam CreateUser ferry-user, PutUserPolicy (Allow * on *), CreateAccessKey
#        then signed with ferry-user's new keys:
#          a virtual MFA device enabled for the user;
#          role `hop1`:   trusts ferry-user when sts:ExternalId matches; may only
#                         sts:AssumeRole into `reader`;
#          role `reader`: trusts ferry-user, and hop1's session named `ferry-hop1`; may only
#                         s3:GetObject and s3:ListBucket on the bucket;
#          a bucket with a few seed objects;
#        and checks that moto now refuses an unknown key (so signatures are enforced);
#   6. writes those facts to setup.json, exports FERRY_MOTO_SETUP=<its path>,
#      FERRY_BIN=<the ferry binary> and FERRY_AWS_CLI=<the AWS CLI>, and runs
#        cargo test -p ferry-tests --test interop_moto -- --test-threads=2
#   7. stops moto (on any exit) and removes its state; exits with the tests' exit code.
#
# Environment:
#   FERRY_MOTO_VERSION          moto version to install (default below)
#   FERRY_AWSCRT_VERSION        awscrt version to install (default below)
#   FERRY_AWSCLI_VERSION        awscli version to install (default below)
#   FERRY_MOTO_START_TIMEOUT    seconds to wait for moto to answer (default 60)
#   FERRY_INTEROP_KEEP=1        leave moto running and its state in place afterwards
set -euo pipefail

MOTO_VERSION="${FERRY_MOTO_VERSION:-5.2.5}"
# Without awscrt, moto "computes" CRC64NVME checksums (ferry's default) as CRC32, and a
# multipart object's stored checksum is then wrong.
AWSCRT_VERSION="${FERRY_AWSCRT_VERSION:-0.38.1}"
# The AWS CLI whose role cache (~/.aws/cli/cache) ferry shares; it carries its own botocore.
AWSCLI_VERSION="${FERRY_AWSCLI_VERSION:-1.46.3}"
START_TIMEOUT="${FERRY_MOTO_START_TIMEOUT:-60}"
KEEP="${FERRY_INTEROP_KEEP:-0}"
# The unauthenticated actions the setup makes before it signs with the user's keys.
NO_AUTH_ACTIONS=3

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv/moto"
PY="$VENV/bin/python"

say() { printf 'interop-moto: %s\n' "$*" >&2; }
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

# ---------------------------------------------------------------- moto
command -v python3 >/dev/null 2>&1 || die "python3 is needed (apt-get install python3 python3-venv)"

installed_versions() {
    [[ -x "$VENV/bin/moto_server" && -x "$PY" ]] || return 1
    "$PY" -c 'import importlib.metadata as m; print(m.version("moto"), m.version("awscrt"), m.version("awscli"))' 2>/dev/null
}

install_moto() {
    local t0 log
    t0=$(now)
    log="$ROOT/.venv/moto-pip.log"
    if [[ ! -x "$PY" ]]; then
        rm -rf "$VENV"
        python3 -m venv "$VENV" >"$log" 2>&1 || {
            cat "$log" >&2
            die "python3 -m venv failed (Debian: apt-get install python3-venv)"
        }
    fi
    local pip=("$PY" -m pip install --quiet --disable-pip-version-check
        --no-input --timeout 60 --retries 3 "moto[server]==$MOTO_VERSION" "awscrt==$AWSCRT_VERSION" "awscli==$AWSCLI_VERSION")
    if ! "${pip[@]}" >>"$log" 2>&1; then
        say "pip install failed, retrying once"
        sleep 5
        "${pip[@]}" >>"$log" 2>&1 || {
            tail -n 30 "$log" >&2
            die "pip install moto[server]==$MOTO_VERSION awscrt==$AWSCRT_VERSION awscli==$AWSCLI_VERSION failed (log: $log)"
        }
    fi
    [[ -x "$VENV/bin/moto_server" ]] || die "moto[server] installed no $VENV/bin/moto_server"
    [[ -x "$VENV/bin/aws" ]] || die "awscli installed no $VENV/bin/aws"
    say "installed moto $MOTO_VERSION (awscrt $AWSCRT_VERSION) in $(elapsed "$t0") s"
}

(
    # One installer at a time when runs overlap.
    mkdir -p "$ROOT/.venv"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$ROOT/.venv/moto.lock"
        flock 9
    fi
    if [[ "$(installed_versions || true)" != "$MOTO_VERSION $AWSCRT_VERSION $AWSCLI_VERSION" ]]; then
        install_moto
    fi
)
"$PY" -c 'import awscrt.checksums, boto3, moto' 2>/dev/null || die "$VENV lacks boto3, moto or awscrt"

# ---------------------------------------------------------------- build first
# Compile before starting moto, so a slow or broken build holds no server up.
cargo="${CARGO:-cargo}"
cd "$ROOT"
"$cargo" build -p ferry-cli "${cargo_args[@]+"${cargo_args[@]}"}" || exit $?
target_dir="$("$cargo" metadata --format-version 1 --no-deps |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
profile_dir=debug
for a in "${cargo_args[@]+"${cargo_args[@]}"}"; do
    [[ "$a" == --release ]] && profile_dir=release
done
FERRY_BIN="$target_dir/$profile_dir/ferry"
[[ -x "$FERRY_BIN" ]] || die "no ferry binary at $FERRY_BIN after cargo build"
test_cmd=()
if [[ ${#exec_cmd[@]} -eq 0 ]]; then
    base=("$cargo" test -p ferry-tests --test interop_moto "${cargo_args[@]+"${cargo_args[@]}"}")
    "${base[@]}" --no-run || exit $?
    test_cmd=("${base[@]}" -- "${test_args[@]}")
else
    test_cmd=("${exec_cmd[@]}")
fi

# ---------------------------------------------------------------- state
mkdir -p "$ROOT/.interop"
STATE="$(mktemp -d "$ROOT/.interop/moto.XXXXXX")"
moto_pid=""
test_pid=""

# shellcheck disable=SC2317,SC2329 # reached from the EXIT trap
stop_pid() { # stop_pid PID GROUP(0|1): TERM, up to 10 s, then KILL
    local pid=$1 group=$2 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    if [[ $group -eq 1 ]]; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    else
        kill -TERM "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        if [[ $group -eq 1 ]]; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        else
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317,SC2329 # the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [[ -n "$test_pid" ]]; then
        say "stopping the tests"
        stop_pid "$test_pid" 1
    fi
    if [[ "$KEEP" == 1 && -n "$moto_pid" ]]; then
        say "FERRY_INTEROP_KEEP=1: moto (pid $moto_pid) left running, state in $STATE"
        say "  reuse:  source $STATE/env.sh"
        say "  stop:   kill $moto_pid && rm -rf '$STATE'"
    else
        [[ -z "$moto_pid" ]] || stop_pid "$moto_pid" 0
        [[ "$KEEP" == 1 ]] || rm -rf "$STATE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- start moto
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# moto's own API (/moto-api/…) is served without counting as an action.
moto_answers() {
    "$PY" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/config", timeout=2).read()
except Exception:
    sys.exit(1)
EOF
}

start_moto() {
    PORT=$(free_port)
    [[ -n "$PORT" ]] || die "could not pick a free port"
    # Werkzeug's own request log goes to moto.log; no AWS variables of this shell leak in.
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
        INITIAL_NO_AUTH_ACTION_COUNT="$NO_AUTH_ACTIONS" \
        "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$STATE/moto.log" 2>&1 </dev/null &
    moto_pid=$!
}

wait_ready() { # 0 when moto answers; 1 when it died first; exits on timeout
    local deadline
    deadline=$(awk -v a="$(now)" -v t="$START_TIMEOUT" 'BEGIN { printf "%d", a + t }')
    while :; do
        if ! kill -0 "$moto_pid" 2>/dev/null; then
            wait "$moto_pid" 2>/dev/null || true
            moto_pid=""
            return 1
        fi
        moto_answers "$PORT" && return 0
        if [[ $(date +%s) -ge $deadline ]]; then
            say "moto did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT} s; log tail:"
            tail -n 40 "$STATE/moto.log" >&2
            exit 1
        fi
        sleep 0.2
    done
}

t0=$(now)
ready=0
for attempt in 1 2; do
    start_moto
    if wait_ready; then
        ready=1
        break
    fi
    say "moto exited while starting (attempt $attempt); log tail:"
    tail -n 20 "$STATE/moto.log" >&2
done
[[ $ready -eq 1 ]] || die "moto did not start"
ENDPOINT="http://127.0.0.1:$PORT"
say "moto $MOTO_VERSION up in $(elapsed "$t0") s: $ENDPOINT (pid $moto_pid, state $STATE)"

# ---------------------------------------------------------------- setup
SETUP="$STATE/setup.json"
(umask 077 && : >"$SETUP")
env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    "$PY" - "$ENDPOINT" "$SETUP" "$NO_AUTH_ACTIONS" <<'EOF' || die "setting up moto failed (log: $STATE/moto.log)"
import json, secrets, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, out, no_auth = sys.argv[1], sys.argv[2], int(sys.argv[3])
region = "us-east-1"
config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)


def client(service, key, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=config,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- the free, unauthenticated actions: exactly `no_auth` of them.
iam0 = client("iam", "FERRYBOOTSTRAP000000", "bootstrap-secret-is-not-checked-yet")
user_name = "ferry-user"
user = iam0.create_user(UserName=user_name)["User"]
iam0.put_user_policy(UserName=user_name, PolicyName="ferry-everything",
                     PolicyDocument=policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
key = iam0.create_access_key(UserName=user_name)["AccessKey"]
free_actions = 3
assert free_actions == no_auth, f"the setup makes {free_actions} free actions, moto allows {no_auth}"
user_arn = user["Arn"]
account = user_arn.split(":")[4]
key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]

# --- from here on, moto checks signatures and policies: sign as the user.
iam = client("iam", key_id, secret)
s3 = client("s3", key_id, secret)
sts = client("sts", key_id, secret)

identity = sts.get_caller_identity()
assert identity["Arn"] == user_arn, identity

mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName=user_name)["VirtualMFADevice"]
mfa_serial = mfa["SerialNumber"]
iam.enable_mfa_device(UserName=user_name, SerialNumber=mfa_serial,
                      AuthenticationCode1="123456", AuthenticationCode2="654321")

bucket = "ferry-moto-" + secrets.token_hex(4)
hop1_session = "ferry-hop1"
external_id = "ferry-ext-" + secrets.token_hex(6)
hop1_arn = f"arn:aws:iam::{account}:role/hop1"
reader_arn = f"arn:aws:iam::{account}:role/reader"

hop1 = iam.create_role(
    RoleName="hop1",
    AssumeRolePolicyDocument=policy({
        "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }),
)["Role"]
assert hop1["Arn"] == hop1_arn, hop1["Arn"]
iam.put_role_policy(RoleName="hop1", PolicyName="assume-reader",
                    PolicyDocument=policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Resource": reader_arn}))
reader = iam.create_role(
    RoleName="reader",
    AssumeRolePolicyDocument=policy({
        "Effect": "Allow",
        "Principal": {"AWS": [user_arn,
                              f"arn:aws:sts::{account}:assumed-role/hop1/{hop1_session}"]},
        "Action": "sts:AssumeRole",
    }),
)["Role"]
assert reader["Arn"] == reader_arn, reader["Arn"]
iam.put_role_policy(RoleName="reader", PolicyName="read-only",
                    PolicyDocument=policy({
                        "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }))

s3.create_bucket(Bucket=bucket)
seeds = {}
for i in range(5):
    k = f"seed/object-{i}.txt"
    body = f"seed object {i}\n".encode() * (i + 1)
    s3.put_object(Bucket=bucket, Key=k, Body=body)
    seeds[k] = body.decode()

# Enforcement is on: an unknown key and a wrong secret are both refused.
for bad in (("AKIAFERRYUNKNOWN0000", secret), (key_id, "0" * 40)):
    try:
        client("s3", *bad).list_objects_v2(Bucket=bucket)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"), code
    else:
        sys.exit("moto accepted a request with bad credentials: signatures are not enforced")

# The roles work as intended through boto3 itself (so a failure in the tests is ferry's).
r = sts.assume_role(RoleArn=reader_arn, RoleSessionName="setup-check")["Credentials"]
ro = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config,
                  aws_access_key_id=r["AccessKeyId"], aws_secret_access_key=r["SecretAccessKey"],
                  aws_session_token=r["SessionToken"])
assert ro.get_object(Bucket=bucket, Key="seed/object-0.txt")["Body"].read() == b"seed object 0\n"
try:
    ro.put_object(Bucket=bucket, Key="setup-check", Body=b"x")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response["Error"]
else:
    sys.exit("the reader role could write: moto does not enforce role policies")
h = sts.assume_role(RoleArn=hop1_arn, RoleSessionName=hop1_session,
                    ExternalId=external_id)["Credentials"]
hop_sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, config=config,
                       aws_access_key_id=h["AccessKeyId"], aws_secret_access_key=h["SecretAccessKey"],
                       aws_session_token=h["SessionToken"])
hop_sts.assume_role(RoleArn=reader_arn, RoleSessionName="setup-check")
try:
    sts.assume_role(RoleArn=hop1_arn, RoleSessionName=hop1_session, ExternalId="wrong")
except ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response["Error"]
else:
    sys.exit("hop1 was assumed with a wrong external id: moto does not check trust policies")

with open(out, "w") as f:
    json.dump({
        "endpoint": endpoint,
        "region": region,
        "account": account,
        "bucket": bucket,
        "seed_objects": seeds,
        "user": {"name": user_name, "arn": user_arn, "access_key_id": key_id,
                 "secret_access_key": secret, "mfa_serial": mfa_serial},
        "roles": {"reader": reader_arn, "hop1": hop1_arn},
        "hop1_session_name": hop1_session,
        "hop1_external_id": external_id,
    }, f, indent=2)
print(f"interop-moto: set up user {user_arn}, roles hop1 and reader, bucket {bucket}",
      file=sys.stderr)
EOF

export FERRY_MOTO_SETUP="$SETUP"
export FERRY_MOTO_ENDPOINT="$ENDPOINT"
export FERRY_BIN
export FERRY_AWS_CLI="$VENV/bin/aws"
{
    for v in FERRY_MOTO_SETUP FERRY_MOTO_ENDPOINT FERRY_BIN FERRY_AWS_CLI; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
} >"$STATE/env.sh"
chmod 600 "$STATE/env.sh"

# ---------------------------------------------------------------- run the tests
# In a process group of their own (set -m), so that a signal to this script stops them (and
# the ferry processes they run) at once.
set -m
"${test_cmd[@]}" </dev/null &
test_pid=$!
set +m
rc=0
wait "$test_pid" || rc=$?
test_pid=""
exit "$rc"
