#!/usr/bin/env bash
# Wall time of `make test` and `make grade` in a lab folder with the reference solution in
# place of the student file (median of N runs), against the bare build of the same lab
# measured in the same run.
#
#   bench/lab_times.sh [LAB] [N]        e.g. bench/lab_times.sh 01_udp_send 5
set -euo pipefail
lab=${1:-01_udp_send}
runs=${2:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A private copy of the tree, with the solution as the "student's" file.
mkdir -p "$work/labs"
cp -r "$repo/mk" "$repo/grader" "$work/"
cp -r "$repo/labs/common" "$repo/labs/$lab" "$work/labs/"
cp -r "$repo/solutions/$lab/src/." "$work/labs/$lab/src/"
rm -rf "$work/labs/$lab/build"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_it() {  # seconds one command takes, to the millisecond
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

declare -A results
for what in build test grade; do
    for _ in $(seq "$runs"); do
        case $what in
            build) make -C "$work/labs/$lab" clean >/dev/null
                   time_it make -C "$work/labs/$lab" -j2 all tests ;;
            test)  make -C "$work/labs/$lab" clean >/dev/null
                   time_it make -C "$work/labs/$lab" test ;;
            grade) time_it make -C "$work/labs/$lab" grade ;;
        esac
    done > "$work/$what.times"
    results[$what]=$(median < "$work/$what.times")
done

printf '%s, median of %d runs (%d cores):\n' "$lab" "$runs" "$(nproc)"
printf '  build (make clean; make all tests)  %6.2f s   1.00x\n' "${results[build]}"
for what in test grade; do
    printf '  make %-31s %6.2f s  %5.2fx the build\n' "$what" "${results[$what]}" \
        "$(awk -v a="${results[$what]}" -v b="${results[build]}" 'BEGIN { print a / b }')"
done
