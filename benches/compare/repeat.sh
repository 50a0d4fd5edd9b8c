#!/usr/bin/env bash
# Runs one command N times and prints its median wall time (and min, max), for commands too
# short for run.sh's per-run measurement: one `ferry cp` of one object, say.
#
#   benches/compare/repeat.sh LABEL N COMMAND [ARGS...]
#
# Its output goes to /dev/null; a failed run is reported on stderr and still timed.
set -uo pipefail
(($# >= 3)) || { echo "usage: $0 LABEL N COMMAND [ARGS...]" >&2; exit 2; }
label=$1 reps=$2
shift 2
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive integer" >&2; exit 2; }
times=()
for ((i = 0; i < reps; i++)); do
  start=$(date +%s%N)
  "$@" > /dev/null 2>&1 || echo "$label: run $((i + 1)) failed" >&2
  end=$(date +%s%N)
  times+=($(((end - start) / 1000000)))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
  { t[NR] = $1 }
  END { printf "%-16s median %d ms (min %d, max %d, %d runs)\n", label, t[int((NR + 1) / 2)], t[1], t[NR], NR }'
