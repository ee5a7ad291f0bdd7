#!/usr/bin/env bash
# ci/parity.sh [VERSION...] — CPython's own regression suite, stock against
# patched, for each version whose source can be had.
#
# Stock is the release with the compat series only (build.sh --stock
# --no-security, installed as PREFIXES/X.Y-release); patched is the whole
# build (compat, security backports, freeze series: build.sh, installed as
# PREFIXES/X.Y, the prefix bench/run.sh uses too).  So a security backport
# that breaks one of CPython's tests shows as "fail patched, pass stock",
# as a freeze patch that does.  Each runs `-m test` in parallel with the resources
# a sandbox without network offers; a test that fails patched but passes
# stock is rerun alone on both, so that a flaky test is told from a
# regression.  The tests ci/parity-alone.txt lists for the version (they
# hang here) are left out of the parallel run and run alone on both builds
# under a time limit.  Prints a table per version (ci/parity_report.py), the
# reasons recorded in ci/parity-known.txt for what fails on stock too, and ends
# with "N passed, N failed, N skipped" (checks: each build and suite run, each
# test run alone, and the verdict of each version's table).
#
# Environment: GCFREEZE_PARITY_DIR (logs and build trees), GCFREEZE_BENCH_PREFIXES,
# GCFREEZE_PARITY_JOBS, GCFREEZE_PARITY_RESOURCES, GCFREEZE_PARITY_TIMEOUT,
# GCFREEZE_PARITY_ALONE_TIMEOUT (the PARITY_* names of before still work).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_PARITY_DIR:-/tmp/gcfreeze-parity}
PREFIXES=${GCFREEZE_BENCH_PREFIXES:-/opt/gcfreeze-bench}
JOBS=${GCFREEZE_PARITY_JOBS:-${PARITY_JOBS:-3}}
# No network, no sound or display, and none of the resources that only make
# the suite slower (largefile, cpu, decimal); the names exist on 2.7 and 3.x.
RESOURCES=${GCFREEZE_PARITY_RESOURCES:-${PARITY_RESOURCES:-all,-network,-urlfetch,-largefile,-gui,-audio,-cpu,-decimal}}
SUITE_TIMEOUT=${GCFREEZE_PARITY_TIMEOUT:-${PARITY_TIMEOUT:-5400}}
ALONE_TIMEOUT=${GCFREEZE_PARITY_ALONE_TIMEOUT:-${PARITY_ALONE_TIMEOUT:-300}}
# The trees are built under WORK, not in the shared cache's build directory
# (another script building the same release there at once would collide).
BUILD_ARGS=(--build-dir "$WORK/build")

# The suite runs without the caller's PYTHON* variables (PYTHONDONTWRITEBYTECODE
# alone fails test_import's byte-code tests).
CLEAN_ENV=(env)
for var in $(compgen -e | grep '^PYTHON' || true); do CLEAN_ENV+=(-u "$var"); done

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

# Both builds, both suites: each a step (a failure skips the rest of the
# version); then the tests run alone, the reruns, and the table's verdict.
test_version() {
  local series=$1 rel=$2 logs=$WORK/$2 stock patched name alone=()
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  stock=$PREFIXES/$series-release/bin/python$series
  patched=$PREFIXES/$series/bin/python$series
  mapfile -t alone < <(alone_tests "$series")
  step "build patched → $PREFIXES/$series" "$logs/build.log" \
    "$BUILD_SH" "${BUILD_ARGS[@]}" --no-test --prefix "$PREFIXES/$series" "$rel"
  step "build stock (compat only) → $PREFIXES/$series-release" "$logs/build-stock.log" \
    "$BUILD_SH" "${BUILD_ARGS[@]}" --no-test --stock --no-security --prefix "$PREFIXES/$series-release" "$rel"
  step "-m test -j$JOBS, stock" "$logs/stock.step.log" run_suite "$stock" "$logs/stock.log" "${alone[@]+"${alone[@]}"}"
  step "-m test -j$JOBS, patched" "$logs/patched.step.log" run_suite "$patched" "$logs/patched.log" "${alone[@]+"${alone[@]}"}"
  [[ -z "$BLOCKED" ]] || return 0
  : >"$logs/alone.txt"
  for name in "${alone[@]+"${alone[@]}"}"; do
    check "$name alone, both (limit ${ALONE_TIMEOUT}s)" "$logs/alone-$name.log" \
      rerun_alone "$stock" "$patched" "$name" "$ALONE_TIMEOUT"
    ! ok || tail -n 1 "$logs/alone-$name.log" >>"$logs/alone.txt"
  done
  : >"$logs/rerun.txt"
  for name in $(suspects "$patched" "$logs/stock.log" "$logs/patched.log"); do
    check "rerun $name alone, both" "$logs/rerun-$name.log" rerun_alone "$stock" "$patched" "$name"
    ! ok || tail -n 1 "$logs/rerun-$name.log" >>"$logs/rerun.txt"
  done
  check "no test fails patched but passes stock" "$logs/table.txt" \
    "$patched" "$TOP/ci/parity_report.py" --series "$series" --release "$rel" \
    --known "$TOP/ci/parity-known.txt" --alone-reasons "$TOP/ci/parity-alone.txt" --alone "$logs/alone.txt" \
    "$logs/stock.log" "$logs/patched.log" "$logs/rerun.txt"
  echo
  cat "$logs/table.txt"
  echo
}

main() {
  mkdir -p "$WORK"
  for_each_version test_version "$@"
  summary
}

main "$@"
