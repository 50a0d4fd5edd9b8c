#!/usr/bin/env bash
# Alternates commands run by run by run against servers held up by `run.sh --hold`, and
# prints each one's median wall, CPU (user + sys) and peak RSS: the way to compare two
# builds, or a build and a peer, on a machine whose speed drifts from minute to minute.
#
#   benches/compare/alternate.sh WORK/env.sh N 'LABEL=COMMAND' ['LABEL=COMMAND' ...]
#
# Each COMMAND runs in bash with WORK/env.sh sourced ($SINK, $REAL, $SRC, $DL, $FERRY,
# $S5CMD, credentials) and $RUN set to a name unique to the run (download into $DL/$RUN:
# nothing is deleted between runs, since deleting thousands of files slows the next
# run's file creations). $DL/big.bin is removed, and `sync` run, before every run.
# ALTERNATE_EACH=1 also lists each run's wall and peak RSS. E.g.
#
#   benches/compare/alternate.sh /tmp/ferry-compare.X/env.sh 7 \
#     'before=/tmp/ferry-before -q --endpoint-url $SINK cp s3://bench/big.bin $DL/big.bin' \
#     'after=/tmp/ferry-after -q --endpoint-url $SINK cp s3://bench/big.bin $DL/big.bin' \
#     's5cmd=$S5CMD --endpoint-url $SINK cp s3://bench/big.bin $DL/big.bin'
set -uo pipefail
(($# >= 3)) || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
env_sh=$1 reps=$2
shift 2
[[ -f $env_sh ]] || { echo "no $env_sh (start run.sh --hold first)" >&2; exit 2; }
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive integer" >&2; exit 2; }
# shellcheck disable=SC1090
. "$env_sh"
results=$(mktemp) timing=$(mktemp)
trap 'rm -f "$results" "$timing"' EXIT
for ((i = 1; i <= reps; i++)); do
  for spec in "$@"; do
    label=${spec%%=*} command=${spec#*=}
    export RUN="run-$$-$i-$label"
    rm -f "$DL/big.bin"
    sync
    sleep 1
    /usr/bin/time -o "$timing" -f '%e %U %S %M' bash -c "$command" > /dev/null 2>&1 ||
      echo "$label: run $i failed" >&2
    read -r wall user sys rss < "$timing"
    echo "$label $wall $user $sys $rss" >> "$results"
  done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, wall, user, sys_, rss = line.split()
    runs[label].append((float(wall), float(user) + float(sys_), int(rss) // 1024))
for label, r in runs.items():
    wall = [x[0] for x in r]
    cpu = [x[1] for x in r]
    print(f"{label:12s} {len(r)} runs  wall median {statistics.median(wall):.2f} s "
          f"[{min(wall):.2f}-{max(wall):.2f}]  CPU median {statistics.median(cpu):.2f} s "
          f"[{min(cpu):.2f}-{max(cpu):.2f}]  peak RSS median {statistics.median(x[2] for x in r):.0f} "
          f"max {max(x[2] for x in r)} MiB")
    if "ALTERNATE_EACH" in __import__("os").environ:
        print("  each (wall s, peak MiB): " + ", ".join(f"{w:.2f} {m}" for w, _, m in r))
PY
