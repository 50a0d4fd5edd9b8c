#!/usr/bin/env bash
# Peak RSS and wall of `sync` over N 0-byte files (directories of 1,000), against `ferry serve`
# in another process (so only the client is measured): an upload into an empty prefix, then
# the same sync again (nothing to do: a pure compare of the walk with the listing).
# Usage: benches/sync_scale.sh N [FERRY_BINARY] [aws|aws-compare|rclone-compare]   (`aws`: also
# time `aws s3 sync` up and again; `aws-compare`: only its compare against ferry's upload, AWS
# from $AWS_CLI, default .venv/h12/bin/aws; `rclone-compare`: only `rclone sync --size-only`'s
# compare against ferry's upload, rclone from $RCLONE, default .venv/compare/bin/rclone, which
# benches/compare/run.sh installs)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?N files}
ferry=${2:-$PWD/target/release/ferry}
server_bin=${FERRY_SERVER:-$ferry}
aws=${AWS_CLI:-$PWD/.venv/h12/bin/aws}
rclone=${RCLONE:-$PWD/.venv/compare/bin/rclone}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/s3" "$work/tree"
python3 - "$work/tree" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:04d}")
    if i % 1000 == 0:
        os.mkdir(d)
    os.close(os.open(os.path.join(d, f"f{i % 1000:03d}"), os.O_CREAT | os.O_WRONLY, 0o644))
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=FERRYSYNCBENCH000000 AWS_SECRET_ACCESS_KEY=ferrysyncbenchsecret00000000000000000000
FERRY_SERVE_SECRET_KEY=$AWS_SECRET_ACCESS_KEY "$server_bin" serve --root "$work/s3" \
  --address "127.0.0.1:$port" --access-key "$AWS_ACCESS_KEY_ID" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_DEFAULT_REGION=us-east-1 HOME=$work
"$server_bin" -q mb s3://scale
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { tail -5 "$work/out"; }
  read -r wall rss < "$work/time"
  printf '%-28s n=%-8d wall %8.2f s  peak RSS %5d MiB\n' "$label" "$n" "$wall" "$((rss / 1024))"
}
# ferry serve lists in S3's byte order: say so, where the binary knows the flag (a custom
# endpoint's listing is otherwise read whole and sorted first).
order=()
"$ferry" --help 2>/dev/null | grep -q -- --sorted-listings && order=(--sorted-listings)
measure "ferry sync up" "$ferry" -q "${order[@]}" sync "$work/tree" s3://scale/f/
measure "ferry sync (nothing to do)" "$ferry" -q "${order[@]}" sync "$work/tree" s3://scale/f/
if [[ ${3:-} == aws ]]; then
  measure "aws s3 sync up" "$aws" s3 sync --only-show-errors "$work/tree" s3://scale/a/
  measure "aws s3 sync (nothing to do)" "$aws" s3 sync --only-show-errors "$work/tree" s3://scale/a/
elif [[ ${3:-} == aws-compare ]]; then
  # Only the compare, against the prefix ferry uploaded (its objects are newer than the
  # files, so nothing is to do): the AWS CLI's upload of 10^6 objects takes most of an hour.
  measure "aws s3 sync (nothing to do)" "$aws" s3 sync --only-show-errors "$work/tree" s3://scale/f/
fi
if [[ ${3:-} == rclone-compare ]]; then
  # rclone keeps a file's mtime in the object's metadata, which ferry's objects do not carry:
  # with its default size-and-mtime check it would "fix" every object's time with a copy, so
  # it compares by size, as a nothing-to-do sync must. It lists one directory at a time.
  export RCLONE_CONFIG=$work/rclone.conf RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other \
    RCLONE_CONFIG_B_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
    RCLONE_CONFIG_B_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY RCLONE_CONFIG_B_REGION=us-east-1 \
    RCLONE_CONFIG_B_ENDPOINT=$AWS_ENDPOINT_URL
  : > "$work/rclone.conf"
  measure "rclone sync --size-only" "$rclone" sync --size-only "$work/tree" b:scale/f/
fi
