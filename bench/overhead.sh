#!/usr/bin/env bash
# bench/overhead.sh STOCK_PYTHON PATCHED_PYTHON — instructions executed under
# callgrind for fixed workloads, stock vs patched, when gc.freeze() is never
# called.  Instruction counts are repeatable, unlike seconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${GCFREEZE_BENCH_OUT:-/tmp/gcfreeze-bench/callgrind}

instructions() {
  local python=$1 workload=$2 file
  file=$OUT/$(basename "$python")-$(basename "$workload" .py)-$RANDOM.out
  # a fixed hash seed: 3.x randomizes str hashes per process, which moves
  # the count by up to 4 % from one run to the next
  env PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file="$file" -- "$python" -S "$workload" >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$file"
}

main() {
  [[ $# -eq 2 ]] || { echo "usage: bench/overhead.sh STOCK_PYTHON PATCHED_PYTHON" >&2; exit 2; }
  command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
  mkdir -p "$OUT"
  local workload stock patched
  printf '%-12s %16s %16s %9s\n' workload stock patched ratio
  for workload in "$HERE"/workloads/*.py; do
    stock=$(instructions "$1" "$workload")
    patched=$(instructions "$2" "$workload")
    printf '%-12s %16s %16s %9s\n' "$(basename "$workload" .py)" "$stock" "$patched" \
      "$(awk -v s="$stock" -v p="$patched" 'BEGIN { printf "%.4f", p / s }')"
  done
}

main "$@"
