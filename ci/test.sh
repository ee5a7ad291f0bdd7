#!/usr/bin/env bash
# ci/test.sh [VERSION...] — build every version whose source can be had, test
# each, and print one line per version and the closing line
# "N passed, N failed" (checks; skipped versions are counted on the line before),
# then run ci/test-build-sh.sh (build.sh under bad input) and, as root, the
# 2.7 .deb test of ci/test-packages.sh (GCFREEZE_CI_DEB=0 leaves it out):
# their checks count too.
#
# Per version: the series applies to the pristine tree with quilt (no fuzz, no
# offset); build.sh builds and installs into a scratch prefix; Lib-tests and
# the interpreter's own test_gc pass there; an extension built against the
# stock headers works in it, and gcmodule exports the same symbols as stock;
# every security backport's regression tests pass there and fail on the
# release built beside it (ci/test-security.sh --against); every server
# recipe example runs there (ci/test-recipes.sh).
#
# Versions run two at a time (GCFREEZE_CI_PARALLEL, default 2): each in a
# child "ci/test.sh --one RELEASE" with its output in a log, printed in
# order as each ends. On two cores the builds' serial parts (configure,
# setup.py, the tests) then overlap; one after the other, all four versions
# took CI past 45 minutes.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_CI_DIR:-/tmp/gcfreeze-ci}
BUILD_DIR=$WORK/build
# (JOBS: the name before GCFREEZE_JOBS)
JOBS=${GCFREEZE_JOBS:-${JOBS:-$(nproc 2>/dev/null || echo 2)}}
BUILD_ARGS=(--build-dir "$BUILD_DIR")
PARALLEL=${GCFREEZE_CI_PARALLEL:-2}
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || die "GCFREEZE_CI_PARALLEL must be a number of versions at a time (1: one after the other)"

ensure_tools() { command -v quilt >/dev/null 2>&1 || install_tools "$WORK/apt-quilt.log" quilt; }

# The series applies to the pristine tree with quilt, with no fuzz and no offset.
quilt_check() {
  local series=$1 tree=$2 out
  rm -rf "$WORK/quilt-$series"
  cp -a "$tree" "$WORK/quilt-$series"
  out=$(cd "$WORK/quilt-$series" && QUILT_PATCHES=$TOP/patches/$series QUILT_PC=.pc quilt push -a --fuzz=0 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  rm -rf "$WORK/quilt-$series"
  # the hunk messages, not patch names (a fix may be named "...-offset")
  if grep -Ei 'succeeded at .*(offset|fuzz)|with fuzz' <<<"$out"; then
    echo "the series applies with offset or fuzz: refresh it"
    return 1
  fi
}

lib_tests() {
  local python=$1
  "$python" -m unittest discover -v -s "$TOP/Lib-tests" -p 'test_*.py'
}

own_test_gc() { "$1" -m test -v test_gc; }

# An extension compiled against the stock headers works in the patched
# interpreter, and the patched gcmodule exports exactly the stock symbols.
abi_check() {
  local python=$1 stock=$2 patched=$3 ext=$WORK/abi-$4
  rm -rf "$ext" && mkdir -p "$ext"
  gcc -shared -fPIC -O2 -I"$stock/Include" -I"$stock" -o "$ext/gcabi.so" "$TOP/ci/abi/gcabi.c"
  PYTHONPATH=$ext "$python" "$TOP/ci/abi/check_gcabi.py"
  make -C "$stock" Modules/gcmodule.o >/dev/null
  nm -g --defined-only "$stock/Modules/gcmodule.o" | awk '{ print $3 }' | sort >"$ext/stock.syms"
  nm -g --defined-only "$patched/Modules/gcmodule.o" | awk '{ print $3 }' | sort >"$ext/patched.syms"
  diff -u "$ext/stock.syms" "$ext/patched.syms"
  echo "gcmodule exports the same $(wc -l <"$ext/stock.syms") symbols as stock"
}

test_version() {
  local series=$1 rel=$2
  local prefix=$WORK/prefix-$series logs=$WORK/logs-$rel stock patched
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  rm -rf "$prefix"
  stock=$("$BUILD_SH" --print-tree --stock --build-dir "$BUILD_DIR" "$rel")
  patched=$("$BUILD_SH" --print-tree --build-dir "$BUILD_DIR" "$rel")
  # The stock tree, configured: its headers build the ABI probe, and quilt
  # checks the series on a copy of it (configure touches no patched file).
  check "stock configure" "$logs/stock.log" \
    "$BUILD_SH" --stock --configure-only --build-dir "$BUILD_DIR" "$rel"
  check "quilt push -a: no fuzz, no offset" "$logs/quilt.log" quilt_check "$series" "$stock"
  check "build.sh (fetch → … → test_gc → install)" "$logs/build.log" \
    "$BUILD_SH" --prefix "$prefix" --jobs "$JOBS" --build-dir "$BUILD_DIR" "$rel"
  local python=$prefix/bin/python$series
  if [[ -x "$python" ]]; then
    check "Lib-tests" "$logs/lib-tests.log" lib_tests "$python"
    check "-m test test_gc (installed)" "$logs/test_gc.log" own_test_gc "$python"
    check "ABI: stock-built extension, gcmodule symbols" "$logs/abi.log" abi_check "$python" "$stock" "$patched" "$series"
    security_tests "$series" "$rel" "$python"
    sub_suite "$rel server recipes (with and without the recipe)" "$logs/recipes.log" \
      env GCFREEZE_RECIPES_DIR="$WORK/recipes-$series" "$TOP/ci/test-recipes.sh" "$python"
  fi
}

# Each security backport's own regression tests pass in our build and fail
# on the release as python.org shipped it (plus compat), built beside it.
security_tests() {
  local series=$1 rel=$2 python=$3 release=$WORK/release-$1
  rm -rf "$release"
  check "build.sh --no-security --stock: the release, to compare" "$WORK/logs-$rel/release.log" \
    "$BUILD_SH" --no-security --stock --no-test --prefix "$release" --jobs "$JOBS" --build-dir "$WORK/build-release" "$rel"
  ok || return 0
  sub_suite "$rel security backports (each test fails on the release)" "$WORK/logs-$rel/security.log" \
    "$TOP/ci/test-security.sh" --against "$release/bin/python$series" "$python" "$series"
}

# The 2.7 .deb, installed with apt into a clean Debian 12 chroot (needs root
# for chroot and mounts; the other packages are ci/test-packages.sh's own).
# --quick: the packaging is the same, and an optimized build would take the
# run past 45 minutes (bench/speed.sh measures what --optimize gives).
deb_tests() {
  if [[ $(id -u) -ne 0 ]]; then
    SKIPPED=$((SKIPPED + 1))
    SUMMARY+=("SKIP 2.7 .deb: needs root (chroot, mounts, debootstrap)")
    return 0
  fi
  sub_suite "2.7 .deb in a clean Debian 12 chroot" "$WORK/packages.log" \
    env GCFREEZE_PKG_DIR="$WORK/pkg" "$TOP/ci/test-packages.sh" --quick --deb-only 2.7
}

# merge_child LOG: a child's output; its counts and SUMMARY lines become ours
# (the lines between its last empty line and its counts line).
merge_child() {
  local log=$1 lines=() line
  cat "$log"
  if ! add_counts "$log"; then
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL $(basename "$log" .log): ci/test.sh --one did not finish (log: $log)")
    return 0
  fi
  mapfile -t lines < <(awk '/^$/ { n = 0; delete b; next } { b[n++] = $0 } END { for (i = 0; i < n - 1; i++) print b[i] }' "$log")
  for line in "${lines[@]}"; do SUMMARY+=("$line"); done
}

# versions_in_parallel [VERSION...]: each version in a child, PARALLEL at a time.
versions_in_parallel() {
  local text line rel pids=() logs=() i
  text=$("$BUILD_SH" --list "$@") || die "unknown version in: $* (./build.sh --list names the known ones)" 2
  while read -r _ rel _; do
    while (($(jobs -rp | wc -l) >= PARALLEL)); do wait -n || true; done
    say "$rel: started (log: $WORK/ci-$rel.log)"
    "$TOP/ci/test.sh" --one "$rel" </dev/null >"$WORK/ci-$rel.log" 2>&1 &
    pids+=("$!") logs+=("$WORK/ci-$rel.log")
  done <<<"$text"
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || true
    merge_child "${logs[$i]}"
  done
}

main() {
  mkdir -p "$WORK"
  ensure_tools
  if [[ ${1:-} == --one ]]; then
    for_each_version test_version "$2"
    summary
    return
  fi
  if ((PARALLEL > 1)); then
    versions_in_parallel "$@"
  else
    for_each_version test_version "$@"
  fi
  sub_suite "build.sh under bad input" "$WORK/build-sh.log" "$TOP/ci/test-build-sh.sh"
  [[ "${GCFREEZE_CI_DEB:-1}" == 0 ]] || deb_tests
  echo
  summary_lines
  # Skipped versions are named above with their reason; the closing line
  # counts checks.
  echo "$SKIPPED skipped"
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

main "$@"
