#!/usr/bin/env bash
# bench/run.sh [--no-build] [VERSION...] — every benchmark, stock and patched side by side
# in one run, for each version whose source is available.  Writes
# bench/results/results-X.Y.jsonl (results.jsonl: all of them) and the table bench/results/README.md, and
# draws bench/results/cow.png.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$TOP/bench
RESULTS=${GCFREEZE_BENCH_RESULTS:-$BENCH/results}
PREFIXES=${GCFREEZE_BENCH_PREFIXES:-/opt/gcfreeze-bench}
LOGS=${GCFREEZE_BENCH_LOGS:-/tmp/gcfreeze-bench}
# --no-build: use the interpreters already in PREFIXES (ci/parity.sh's too)
BUILD=1

step() {
  local label=$1 start
  shift
  start=$(date +%s)
  printf '    %-34s ' "$label"
  if "$@" >>"$LOGS/bench.log" 2>&1; then
    printf 'done (%ss)\n' "$(($(date +%s) - start))"
  else
    printf 'FAILED (%ss)\n' "$(($(date +%s) - start))"
    tail -n 20 "$LOGS/bench.log" >&2
    exit 1
  fi
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
  local v=$1 series rel
  read -r series rel _ < <(awk -v v="$v" '!/^#/ && NF >= 4 && ($1 == v || $2 == v) { print; exit }' "$TOP/versions.txt")
  echo "==> $rel"
  if ! "$TOP/build.sh" --fetch-only "$rel" >/dev/null 2>&1; then
    echo "    SKIP: no source for $rel here"
    return 0
  fi
  local stock=$PREFIXES/$series-stock/bin/python$series patched=$PREFIXES/$series/bin/python$series
  if [[ $BUILD -eq 1 ]]; then
    step "build patched" "$TOP/build.sh" --no-test --prefix "$PREFIXES/$series" "$rel"
    step "build stock (same tree, no series)" "$TOP/build.sh" --no-test --stock --prefix "$PREFIXES/$series-stock" "$rel"
  elif [[ ! -x "$stock" || ! -x "$patched" ]]; then
    echo "    --no-build, but $stock or $patched is missing: run without --no-build" >&2
    exit 1
  fi
  JSONL=$RESULTS/results-$series.jsonl
  : >"$JSONL"
  local heap
  for heap in lists objs freelists; do
    step "cow $heap: stock" record cow stock "$stock" "$BENCH/cow.py" --heap "$heap"
    step "cow $heap: patched, not frozen" record cow gcfreeze "$patched" "$BENCH/cow.py" --heap "$heap"
    step "cow $heap: patched, frozen" record cow gcfreeze "$patched" "$BENCH/cow.py" --heap "$heap" --freeze
  done
  step "scaling" record scaling gcfreeze "$patched" "$BENCH/scaling.py"
  step "overhead (callgrind)" overhead_json "$stock" "$patched" "$rel"
  step "prefork: stock" record prefork stock "$stock" "$BENCH/prefork.py" --mode stock
  step "prefork: stock, collector off" record prefork stock "$stock" "$BENCH/prefork.py" --mode nogc
  step "prefork: patched, freeze" record prefork gcfreeze "$patched" "$BENCH/prefork.py" --mode freeze
}

ensure_tools() {
  local missing=()
  command -v valgrind >/dev/null || missing+=(valgrind)
  /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$LOGS/apt.log" 2>&1 ||
      { tail -n 20 "$LOGS/apt.log"; exit 1; }
  else
    echo "bench/run.sh: missing tools: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}

main() {
  if [[ "${1:-}" == --no-build ]]; then
    BUILD=0
    shift
  fi
  local versions=("$@")
  [[ ${#versions[@]} -gt 0 ]] || mapfile -t versions < <(awk '!/^#/ && NF >= 4 { print $1 }' "$TOP/versions.txt")
  mkdir -p "$RESULTS" "$LOGS"
  : >"$LOGS/bench.log"
  ensure_tools
  local v
  for v in "${versions[@]}"; do bench_version "$v"; done
  # every version measured so far, this run's replacing earlier ones
  cat "$RESULTS"/results-*.jsonl >"$RESULTS/results.jsonl"
  /usr/bin/python3 "$BENCH/report.py" "$RESULTS/results.jsonl" "$RESULTS"
  echo "results: $RESULTS/README.md, $RESULTS/cow.png"
}

main "$@"
