#!/usr/bin/env bash
# ci/debug-checks.sh [VERSION...] — the checks CPython's core developers run,
# on a debug build (--with-pydebug, --with-valgrind) of each version whose
# source is available:
#   1. refleaks: -m test -R 3:3 test_gc, and the Lib-tests under -R 3:3;
#   2. memory errors: test_gc and the Lib-tests under valgrind memcheck with
#      the suppressions file CPython ships (pymalloc steps aside under
#      valgrind in a --with-valgrind build); any error report fails.
# Prints one line per check and "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${GCFREEZE_DEBUG_DIR:-/tmp/gcfreeze-debug}
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
BUILD_ARGS=(--build-dir "$WORK/build")
VERSION_TITLE="(debug build)"

# The Lib-tests that memcheck runs, with the helper module they import.
lib_tests_dir() {
  rm -rf "$WORK/libtests" && mkdir -p "$WORK/libtests"
  # test_modules is left out: a TLS handshake and ensurepip under memcheck
  # take long and test no collector code; test_gcfreeze_memory too: it
  # measures the pages a child copies, and memcheck writes shadow memory
  cp "$TOP/Lib-tests/gcheaps.py" "$TOP/Lib-tests/test_gcfreeze.py" "$TOP/Lib-tests/test_stress.py" "$WORK/libtests/"
}

refleak_test_gc() { "$1" -m test -R 3:3 test_gc; }

# The Lib-tests as regrtest modules, so that -R can hunt their refleaks.
# They go into the scratch prefix's test package (3.4's regrtest ignores
# --testdir), with gcheaps.py, which they import.
REFLEAK_LIB_TESTS=(test_gcfreeze test_gcfreeze_memory)
refleak_lib_tests() {
  local testpkg t
  testpkg=$("$1" -c 'import os, test; print(os.path.dirname(test.__file__))')
  cp "$TOP/Lib-tests/gcheaps.py" "$testpkg/"
  for t in "${REFLEAK_LIB_TESTS[@]}"; do
    cp "$TOP/Lib-tests/$t.py" "$testpkg/"
  done
  "$1" -m test -R 3:3 "${REFLEAK_LIB_TESTS[@]}"
}

memcheck() {
  local python=$1 supp=$2 log=$3
  shift 3
  valgrind --tool=memcheck --suppressions="$supp" --error-exitcode=99 --log-file="$log" \
    "$python" "$@"
  if grep -E '== +(at|by) .*(gcmodule|collect|gc_)' "$log"; then
    echo "memcheck reports an error in the collector"
    return 1
  fi
  grep -q 'ERROR SUMMARY: 0 errors' "$log"
}

debug_version() {
  local series=$1 rel=$2 prefix=$WORK/prefix-$1 logs=$WORK/logs-$2 python supp
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  check "debug build" "$logs/build.log" "$BUILD_SH" --debug --no-test --prefix "$prefix" \
    --build-dir "$WORK/build" "$rel" -- --with-valgrind
  python=$prefix/bin/python$series
  [[ -x "$python" ]] || return 0
  check "-R 3:3 test_gc" "$logs/refleak-test_gc.log" refleak_test_gc "$python"
  check "-R 3:3 Lib-tests (${REFLEAK_LIB_TESTS[*]})" "$logs/refleak-lib.log" refleak_lib_tests "$python"
  supp=$("$BUILD_SH" --print-tree --debug --build-dir "$WORK/build" "$rel")/Misc/valgrind-python.supp
  check "memcheck test_gc" "$logs/memcheck-test_gc.log" memcheck "$python" "$supp" "$logs/valgrind-test_gc.txt" -m test test_gc
  check "memcheck Lib-tests (test_gcfreeze, test_stress)" "$logs/memcheck-lib.log" memcheck "$python" "$supp" \
    "$logs/valgrind-lib.txt" -m unittest discover -s "$WORK/libtests" -p 'test_*.py'
}

main() {
  mkdir -p "$WORK"
  command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null
  lib_tests_dir
  for_each_version debug_version "$@"
  summary
}

main "$@"
