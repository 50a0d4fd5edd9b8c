#!/usr/bin/env bash
# Peak resident memory of `ferry cp` moving one large file up and down, against `ferry serve`
# in another process (so only the client is measured). Usage: benches/rss.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
cargo build --release -q -p ferry-cli
ferry=$PWD/target/release/ferry
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/s3" "$work/out"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=FERRYRSSBENCH0000000 AWS_SECRET_ACCESS_KEY=ferryrssbenchsecret000000000000000000000
FERRY_SERVE_SECRET_KEY=$AWS_SECRET_ACCESS_KEY "$ferry" serve --root "$work/s3" \
  --address "127.0.0.1:$port" --access-key "$AWS_ACCESS_KEY_ID" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port HOME=$work
"$ferry" -q mb s3://rss
measure() { # label, ferry args...
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$ferry" -q "$@"
  read -r wall rss user sys < "$work/time"
  printf '%-9s %5d MiB  wall %6.2f s  cpu %6.2f s  peak RSS %4d MiB\n' \
    "$label" "$size_mib" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$((rss / 1024))"
}
measure upload cp "$work/big.bin" s3://rss/big.bin
measure download cp s3://rss/big.bin "$work/out/big.bin"
cmp "$work/big.bin" "$work/out/big.bin" && echo "bytes identical"
