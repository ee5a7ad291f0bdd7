#!/usr/bin/env bash
# bench/run.sh [--no-build] [VERSION...] — every benchmark, stock and patched side by side
# in one run, for each version whose source is available.  Writes
# bench/results/results-X.Y.jsonl (results.jsonl: all of them) and the table bench/results/README.md, and
# draws bench/results/cow.png.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
BENCH=$TOP/bench
RESULTS=${GCFREEZE_BENCH_RESULTS:-$BENCH/results}
PREFIXES=${GCFREEZE_BENCH_PREFIXES:-/opt/gcfreeze-bench}
LOGS=${GCFREEZE_BENCH_LOGS:-/tmp/gcfreeze-bench}
# --no-build: use the interpreters already in PREFIXES (ci/parity.sh's too)
BUILD=1

# bench_step LABEL COMMAND...: a step (ci/lib.sh) with its log in LOGS/REL/;
# a failed one skips the rest of the version, and no results are written.
bench_step() {
  local label=$1
  shift
  step "$label" "$LOGS/$REL/$(tr -c 'A-Za-z0-9\n' - <<<"$label").log" "$@"
}

# record KIND BUILD COMMAND...: run a benchmark that prints JSON lines and
# tag each line with the build (stock|gcfreeze) and kind.
record() {
  local kind=$1 build=$2
  shift 2
  "$@" --json | while IFS= read -r line; do
    printf '{"kind": "%s", "build": "%s", %s\n' "$kind" "$build" "${line#\{}"
  done >>"$JSONL"
}

overhead_json() {
  "$BENCH/overhead.sh" "$1" "$2" | awk -v py="$3" 'NR > 1 {
    printf "{\"kind\": \"overhead\", \"build\": \"both\", \"python\": \"%s\", \"workload\": \"%s\", \"stock_ir\": %s, \"patched_ir\": %s, \"ratio\": %s}\n", py, $1, $2, $3, $4 }' \
    >>"$JSONL"
}

bench_version() {
  local series=$1 rel=$2
  REL=$rel VERSION_LOGS=$LOGS/$rel
  mkdir -p "$LOGS/$rel"
  local stock=$PREFIXES/$series-stock/bin/python$series patched=$PREFIXES/$series/bin/python$series
  if [[ $BUILD -eq 1 ]]; then
    bench_step "build patched" "$BUILD_SH" --no-test --prefix "$PREFIXES/$series" "$rel"
    bench_step "build stock (same tree, no series)" "$BUILD_SH" --no-test --stock --prefix "$PREFIXES/$series-stock" "$rel"
  elif [[ ! -x "$stock" || ! -x "$patched" ]]; then
    die "--no-build, but $stock or $patched is missing: run without --no-build"
  fi
  JSONL=$RESULTS/results-$series.jsonl
  : >"$JSONL"
  local heap
  for heap in lists objs freelists; do
    bench_step "cow $heap: stock" record cow stock "$stock" "$BENCH/cow.py" --heap "$heap"
    bench_step "cow $heap: patched, not frozen" record cow gcfreeze "$patched" "$BENCH/cow.py" --heap "$heap"
    bench_step "cow $heap: patched, frozen" record cow gcfreeze "$patched" "$BENCH/cow.py" --heap "$heap" --freeze
  done
  bench_step "scaling" record scaling gcfreeze "$patched" "$BENCH/scaling.py"
  bench_step "overhead (callgrind)" overhead_json "$stock" "$patched" "$rel"
  bench_step "prefork: stock" record prefork stock "$stock" "$BENCH/prefork.py" --mode stock
  bench_step "prefork: stock, collector off" record prefork stock "$stock" "$BENCH/prefork.py" --mode nogc
  bench_step "prefork: patched, freeze" record prefork gcfreeze "$patched" "$BENCH/prefork.py" --mode freeze
}

ensure_tools() {
  local missing=()
  command -v valgrind >/dev/null || missing+=(valgrind)
  /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]]; then
    install_tools "$LOGS/apt.log" "${missing[@]}"
  else
    die "missing tools: sudo apt-get install ${missing[*]}"
  fi
}

main() {
  if [[ "${1:-}" == --no-build ]]; then
    BUILD=0
    shift
  fi
  mkdir -p "$RESULTS" "$LOGS"
  ensure_tools
  for_each_version bench_version "$@"
  summary || die "a benchmark failed (above): the results were not updated"
  # every version measured so far, this run's replacing earlier ones
  cat "$RESULTS"/results-*.jsonl >"$RESULTS/results.jsonl"
  /usr/bin/python3 "$BENCH/report.py" "$RESULTS/results.jsonl" "$RESULTS"
  echo "results: $RESULTS/README.md, $RESULTS/cow.png"
}

main "$@"
