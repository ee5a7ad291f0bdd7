#!/usr/bin/env bash
# ci/test-debian11.sh [--pgo] — tests packaging/debian11-rebuild.sh, Debian
# 11's own python2.7 rebuilt with gc.freeze() (a drop-in for Debian 11 hosts):
#
#   1. each step of the rebuild (root, setup, source, build-dep, patches,
#      build, collect; see packaging/debian11-rebuild.sh --help) as a check
#      of its own; a failed step makes the later ones skip.  The patches step
#      must apply our patches after Debian's with --fuzz=0 and no offset
#      (packaging/debian11/quilt-check.sh refuses either);
#   2. in a fresh root of the pin's suite: the stock python2.7 from the
#      archive, then the rebuilt packages installed over it with apt-get
#      (exactly those of the source package that were installed), `dpkg -l`
#      shows the +gcfreezeN versions, gc.freeze() works in /usr/bin/python2.7,
#      the Lib-tests pass, and so does test_gc of the rebuilt
#      libpython2.7-testsuite (the upstream gc.freeze() tests of the series
#      among them).
#
# Full logs go to WORK/logs (WORK: GCFREEZE_DEB11_DIR, default
# /tmp/gcfreeze-deb11); the packages to GCFREEZE_DEB11_DIST (default
# WORK/dist), listed in its manifest.txt.  Ends with "N passed, N failed,
# N skipped".  Every run builds in a fresh copy of the root; the build root is
# kept after a failure, for a look, and removed after a pass.  Needs root
# (debootstrap, chroot, mounts).
#
# Options:
#   --pgo   passed to the rebuild: profile-guided optimisation, as Debian
#           builds it (over 2 hours on 2 cores here)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
REBUILD=$TOP/packaging/debian11-rebuild.sh
REBUILD_ARGS=()
WORK=${GCFREEZE_DEB11_DIR:-/tmp/gcfreeze-deb11}
DIST=${GCFREEZE_DEB11_DIST:-$WORK/dist}
LOGS=$WORK/logs
BUILD_ROOT=$WORK/build-root
TEST_ROOT=$WORK/test-root
# SERIES RELEASE SUITE SRC_PKG DEB_VERSION NEW_VERSION, from the rebuild
read -r SERIES _ SUITE SRC_PKG _ NEW_VERSION < <("$REBUILD" --pin)
[[ -n "${NEW_VERSION:-}" ]] || die "packaging/debian11-rebuild.sh --pin failed (above)"
ROOT_TAR=$(root_tar_path "$SUITE")

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

cleanup() {
  unmount_root "$BUILD_ROOT"
  unmount_root "$TEST_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools() {
  command -v debootstrap >/dev/null 2>&1 || install_tools "$LOGS/apt-tools.log" debootstrap
}

# apt sources in the test root: SUITE from the mirror this machine's apt uses.
write_sources() {
  printf 'deb %s %s main\n' "$(debian_mirror)" "$SUITE" >"$1/etc/apt/sources.list"
  cat "$1/etc/apt/sources.list"
}

# --- test --------------------------------------------------------------------------

# "PACKAGE FILE" of each .deb the rebuild recorded in DIST/manifest.txt.
built_debs() { awk -v v="_${NEW_VERSION}_" '$1 == "deb" && index($5, v) { print $4, $5 }' "$DIST/manifest.txt"; }
built_packages() { built_debs | cut -d' ' -f1; }
deb_of() { built_debs | awk -v p="$1" '$1 == p { print $2 }'; }
# "PACKAGE VERSION" of each installed package of those the source builds.
installed_ours() {
  local pkgs
  mapfile -t pkgs < <(built_packages)
  # shellcheck disable=SC2016  # a dpkg-query format
  in_root "$TEST_ROOT" dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null |
    awk '$3 == "ii" { print $1, $2 }' || true
}

test_root_stock() {
  fresh_root "$TEST_ROOT" "$ROOT_TAR"
  write_sources "$TEST_ROOT"
  in_root "$TEST_ROOT" apt-get update -q
  in_root "$TEST_ROOT" apt-get install -y -q "$SRC_PKG"
  installed_ours >"$LOGS/stock-versions.txt"
  echo "installed from the archive:"
  cat "$LOGS/stock-versions.txt"
  [[ -s "$LOGS/stock-versions.txt" ]] || { echo "none of the built packages is installed"; return 1; }
  if grep -q "+gcfreeze" "$LOGS/stock-versions.txt"; then
    echo "a +gcfreeze version came from the archive"
    return 1
  fi
}

install_rebuilt() {
  local p debs=() names=() newver=$NEW_VERSION after
  mkdir -p "$TEST_ROOT/tmp/debs"
  cp "$DIST"/*_"$newver"_*.deb "$TEST_ROOT/tmp/debs/"
  while read -r p _; do
    names+=("$p")
    debs+=("/tmp/debs/$(basename "$(deb_of "$p")")")
  done <"$LOGS/stock-versions.txt"
  echo "apt-get install ${debs[*]}"
  in_root "$TEST_ROOT" apt-get install -y -q "${debs[@]}"
  in_root "$TEST_ROOT" dpkg -l "${names[@]}"
  after=$(installed_ours)
  echo "$after" >"$LOGS/rebuilt-versions.txt"
  # the same packages as before, each at the new version
  [[ "$(echo "$after" | cut -d' ' -f1)" == "$(cut -d' ' -f1 "$LOGS/stock-versions.txt")" ]] ||
    { echo "the set of installed packages changed:"; echo "$after"; return 1; }
  if echo "$after" | awk -v v="$newver" '$2 != v' | grep .; then
    echo "^ not at $newver"
    return 1
  fi
}

freeze_smoke() {
  in_root "$TEST_ROOT" dpkg -S "/usr/bin/python$SERIES"
  in_root "$TEST_ROOT" "python$SERIES" -c 'import gc, sys; gc.freeze(); n = gc.get_freeze_count(); print("%s frozen: %d" % (sys.version.split()[0], n)); assert n > 0; gc.unfreeze(); assert gc.get_freeze_count() == 0'
}

# Debian's test_gc, with the series' gc.freeze() tests, from the rebuilt
# libpythonX.Y-testsuite.
testsuite_test_gc() {
  local deb
  deb=$(deb_of "lib$SRC_PKG-testsuite")
  [[ -n "$deb" ]] || { echo "lib$SRC_PKG-testsuite was not built"; return 1; }
  in_root "$TEST_ROOT" apt-get install -y -q "/tmp/debs/$(basename "$deb")"
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$TEST_ROOT" sh -c 'cd /tmp && "$1" -m test.regrtest -v test_gc >/tmp/test_gc.out 2>&1; rc=$?; cat /tmp/test_gc.out; exit $rc' sh "python$SERIES"
  echo "--- the series' tests:"
  grep -E '^test_(un)?freeze.* \.\.\. ok$' "$TEST_ROOT/tmp/test_gc.out"
}

# --- main --------------------------------------------------------------------------

# rebuild_step NAME LABEL: one step of packaging/debian11-rebuild.sh, a step here.
rebuild_step() {
  step "$2" "$LOGS/$1.log" "$REBUILD" "${REBUILD_ARGS[@]+"${REBUILD_ARGS[@]}"}" "$1"
}

rebuild() {
  local f
  say "Debian 11 ($SUITE) $SRC_PKG with the gcfreeze patches: packaging/debian11-rebuild.sh (logs: $LOGS)"
  rebuild_step root "Debian 11 root ($ROOT_TAR)"
  rebuild_step setup "build root: fresh copy, deb-src $SUITE, build-essential"
  rebuild_step source "apt-get source $SRC_PKG (the pin of versions.txt)"
  if ok; then
    note "      $(tail -n 1 "$LOGS/source.log")"
  fi
  rebuild_step build-dep "apt-get build-dep $SRC_PKG (profile nocheck)"
  rebuild_step patches "our patches after Debian's (--fuzz=0, no offset); changelog $NEW_VERSION"
  rebuild_step build "dpkg-buildpackage (nice -n 10; ${REBUILD_ARGS[*]:-no PGO})"
  rebuild_step collect "packages to $DIST"
  if ok; then
    while read -r _ f; do note "      $(basename "$f") $(du -h "$f" | cut -f1)"; done < <(built_debs)
  fi
}

install_and_test() {
  say "the rebuilt packages over the stock ones in a fresh $SUITE root"
  step "apt-get install $SRC_PKG (stock, from the archive)" "$LOGS/test-stock.log" test_root_stock
  step "apt-get install the rebuilt packages over them" "$LOGS/test-install.log" install_rebuilt
  if ok; then
    while read -r p v; do note "      $p $v"; done <"$LOGS/rebuilt-versions.txt"
  fi
  step --independent "gc.freeze() in /usr/bin/python$SERIES" "$LOGS/test-smoke.log" freeze_smoke
  if ok; then
    note "      $(tail -n 1 "$LOGS/test-smoke.log")"
  fi
  step --independent "Lib-tests" "$LOGS/test-lib-tests.log" lib_tests_in_root "$TEST_ROOT" "python$SERIES"
  if [[ -s "$LOGS/test-lib-tests.log" ]]; then
    note "      $(grep -E '^(Ran|OK|FAILED)' "$LOGS/test-lib-tests.log" | tr '\n' ' ')"
    grep -E " \.\.\. skipped " "$LOGS/test-lib-tests.log" | sed 's/^/        skipped: /' || true
  fi
  step --independent "test_gc of the rebuilt lib$SRC_PKG-testsuite" "$LOGS/test-gc.log" testsuite_test_gc
}

main() {
  case "${1:-}" in
    -h | --help)
      usage
      return 0
      ;;
    --pgo) REBUILD_ARGS=(--pgo) ;;
    "") ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die "run as root: this uses debootstrap, chroot and mounts (sudo $0)"
  mkdir -p "$WORK" "$LOGS"
  exec 9>"$WORK/.lock"
  flock -n 9 || die "another run is using $WORK"
  rm -f "$LOGS"/*.log "$LOGS"/*.txt "$DIST/manifest.txt"
  ensure_tools
  local start
  start=$(date +%s)
  rebuild
  install_and_test

  remove_root "$TEST_ROOT" || true
  if [[ $FAILED -eq 0 && $SKIPPED -eq 0 ]]; then
    remove_root "$BUILD_ROOT" || true
  elif [[ -d "$BUILD_ROOT" ]]; then
    note "the build root is kept for a look: $BUILD_ROOT (a rerun starts afresh)"
  fi

  echo
  say "timings"
  printf '    %s\n' "${TIMINGS[@]+"${TIMINGS[@]}"}"
  printf '    %6ss  total\n' "$(($(date +%s) - start))"
  [[ ! -s "$DIST/manifest.txt" ]] || note "packages: $DIST (listed in $DIST/manifest.txt)"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 && $SKIPPED -eq 0 ]]
}

main "$@"
