#!/usr/bin/env bash
# ci/parity.sh [VERSION...] — CPython's own regression suite, stock against
# patched, for each version whose source can be had.
#
# Both builds come from the same tree and the same compat series (build.sh
# and build.sh --stock, installed side by side under PREFIXES, the prefixes
# bench/run.sh uses too).  Each runs `-m test` in parallel with the resources
# a sandbox without network offers; a test that fails patched but passes
# stock is rerun alone on both, so that a flaky test is told from a
# regression.  The tests ci/parity-alone.txt lists for the version (they
# hang here) are left out of the parallel run and run alone on both builds
# under a time limit.  Prints a table per version (ci/parity_report.py), the
# reasons recorded in ci/parity-known.txt for what fails on stock too, and ends
# with "N passed, N failed, N skipped" (versions).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${GCFREEZE_PARITY_DIR:-/tmp/gcfreeze-parity}
PREFIXES=${GCFREEZE_BENCH_PREFIXES:-/opt/gcfreeze-bench}
JOBS=${PARITY_JOBS:-3}
# No network, no sound or display, and none of the resources that only make
# the suite slower (largefile, cpu, decimal); the names exist on 2.7 and 3.x.
RESOURCES=${PARITY_RESOURCES:-all,-network,-urlfetch,-largefile,-gui,-audio,-cpu,-decimal}
SUITE_TIMEOUT=${PARITY_TIMEOUT:-5400}
ALONE_TIMEOUT=${PARITY_ALONE_TIMEOUT:-300}
PASSED=0 FAILED=0 SKIPPED=0
SUMMARY=()

# The suite runs without the caller's PYTHON* variables (PYTHONDONTWRITEBYTECODE
# alone fails test_import's byte-code tests).
CLEAN_ENV=(env)
for var in $(compgen -e | grep '^PYTHON' || true); do CLEAN_ENV+=(-u "$var"); done

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# step LABEL LOG COMMAND...: one line with the duration; the log's tail on failure.
step() {
  local label=$1 log=$2 start rc=0
  shift 2
  start=$(date +%s)
  "$@" >"$log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    note "$(printf '%-36s %ss' "$label" "$(($(date +%s) - start))")"
  else
    note "$(printf '%-36s FAILED after %ss — last lines of %s:' "$label" "$(($(date +%s) - start))" "$log")"
    tail -n 20 "$log" | sed 's/^/        /'
  fi
  return "$rc"
}

# alone_tests SERIES: the tests ci/parity-alone.txt runs alone for SERIES.
alone_tests() {
  awk -v s="$1" '!/^#/ && NF >= 3 && ($1 == s || $1 == "*") { print $2 }' "$TOP/ci/parity-alone.txt"
}

# run_suite PYTHON LOG [TEST...]: the whole suite but the TESTs, in a scratch
# directory of its own.
run_suite() {
  local python=$1 log=$2 dir start rc=0 extra=()
  shift 2
  [[ $# -eq 0 ]] || extra=(-x "$@")
  dir=$(dirname "$log")/$(basename "$log" .log).cwd
  rm -rf "$dir" && mkdir -p "$dir/tmp"
  # 3.x: a hung test is killed after 15 minutes (faulthandler) and reported
  if "$python" -c 'import sys; sys.exit(sys.version_info < (3, 3))'; then
    extra=(--timeout 900 "${extra[@]}")
  fi
  start=$(date +%s)
  (cd "$dir" && "${CLEAN_ENV[@]}" TMPDIR="$dir/tmp" HOME="$dir" timeout "$SUITE_TIMEOUT" \
    "$python" -m test -j "$JOBS" -u "$RESOURCES" "${extra[@]}") >"$log" 2>&1 || rc=$?
  echo "suite took $(($(date +%s) - start))s (exit $rc)" >>"$log"
  rm -rf "$dir"
  # regrtest exits non-zero when a test fails: the report judges that
  grep -Eq '^(All )?[0-9]+ tests? (OK|failed)' "$log" || { tail -n 20 "$log"; return 1; }
}

# rerun_alone STOCK PATCHED TEST [SECONDS]: the test's output on both, then
# the line "TEST stock-rc patched-rc" (124: still running after SECONDS).
rerun_alone() {
  local stock=$1 patched=$2 name=$3 limit=${4:-1800} s=0 p=0 dir=$WORK/rerun
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && "${CLEAN_ENV[@]}" HOME="$dir" timeout "$limit" "$stock" -m test -v -u "$RESOURCES" "$name") 2>&1 || s=$?
  (cd "$dir" && "${CLEAN_ENV[@]}" HOME="$dir" timeout "$limit" "$patched" -m test -v -u "$RESOURCES" "$name") 2>&1 || p=$?
  rm -rf "$dir"
  # a killed test leaves its last line unfinished
  printf '\n%s %s %s\n' "$name" "$s" "$p"
}

# The tests that failed (or changed the environment) patched but not stock.
suspects() {
  "$1" "$TOP/ci/parity_report.py" "$2" "$3" | sed -n 's/^  fail patched, pass stock: //p' | tr -d ',' | grep -vx none || true
}

test_version() {
  local v=$1 line series rel rc=0 start logs stock patched name alone=()
  line=$(awk -v v="$v" '!/^#/ && NF >= 4 && ($1 == v || $2 == v) { print; exit }' "$TOP/versions.txt")
  if [[ -z "$line" ]]; then
    echo "ci/parity.sh: error: unknown version $v (known: $(awk '!/^#/ && NF >= 4 { printf "%s ", $1 }' "$TOP/versions.txt"))" >&2
    exit 2
  fi
  read -r series rel _ <<<"$line"
  start=$(date +%s)
  say "$rel"
  "$TOP/build.sh" --fetch-only "$rel" >/dev/null 2>&1 || rc=$?
  if [[ $rc -eq 3 ]]; then
    SKIPPED=$((SKIPPED + 1))
    SUMMARY+=("SKIP $rel: no source here (see ./build.sh --fetch-only $rel)")
    note "skipped: no source"
    return 0
  fi
  logs=$WORK/$rel
  mkdir -p "$logs"
  stock=$PREFIXES/$series-stock/bin/python$series
  mapfile -t alone < <(alone_tests "$series")
  patched=$PREFIXES/$series/bin/python$series
  if ! step "build patched → $PREFIXES/$series" "$logs/build.log" \
    "$TOP/build.sh" --no-test --prefix "$PREFIXES/$series" "$rel" ||
    ! step "build stock → $PREFIXES/$series-stock" "$logs/build-stock.log" \
      "$TOP/build.sh" --no-test --stock --prefix "$PREFIXES/$series-stock" "$rel" ||
    ! step "-m test -j$JOBS, stock" "$logs/stock.step.log" run_suite "$stock" "$logs/stock.log" "${alone[@]}" ||
    ! step "-m test -j$JOBS, patched" "$logs/patched.step.log" run_suite "$patched" "$logs/patched.log" "${alone[@]}"; then
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL $rel: a step did not finish (logs in $logs)")
    return 0
  fi
  : >"$logs/alone.txt"
  for name in "${alone[@]}"; do
    step "$name alone, both (limit ${ALONE_TIMEOUT}s)" "$logs/alone-$name.log" \
      rerun_alone "$stock" "$patched" "$name" "$ALONE_TIMEOUT" && tail -n 1 "$logs/alone-$name.log" >>"$logs/alone.txt"
  done
  : >"$logs/rerun.txt"
  for name in $(suspects "$patched" "$logs/stock.log" "$logs/patched.log"); do
    step "rerun $name alone, both" "$logs/rerun-$name.log" \
      rerun_alone "$stock" "$patched" "$name" && tail -n 1 "$logs/rerun-$name.log" >>"$logs/rerun.txt"
  done
  echo
  if "$patched" "$TOP/ci/parity_report.py" --series "$series" --release "$rel" \
    --known "$TOP/ci/parity-known.txt" --alone-reasons "$TOP/ci/parity-alone.txt" --alone "$logs/alone.txt" \
    "$logs/stock.log" "$logs/patched.log" "$logs/rerun.txt" | tee "$logs/table.txt"; then
    PASSED=$((PASSED + 1))
    SUMMARY+=("PASS $rel: no test fails patched but passes stock ($(($(date +%s) - start))s)")
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL $rel: see the table above ($logs/table.txt)")
  fi
  echo
}

main() {
  local versions=("$@") v
  [[ ${#versions[@]} -gt 0 ]] || mapfile -t versions < <(awk '!/^#/ && NF >= 4 { print $1 }' "$TOP/versions.txt")
  mkdir -p "$WORK"
  for v in "${versions[@]}"; do test_version "$v"; done
  printf '%s\n' "${SUMMARY[@]}"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 ]]
}

main "$@"
