#!/usr/bin/env bash
# ci/test-hosts.sh [--suites "bullseye bookworm trixie"] [VERSION...] — the
# host matrix: in a debootstrapped minbase root of each Debian suite (11, 12,
# 13), build.sh installs its own build dependencies and builds each version
# whose source can be had; a build passes when every extension module was
# built (none missing, failed, or removed because it could not be imported),
# and the Lib-tests and the interpreter's own test_gc pass in that root.
#
# Ends with "N passed, N failed, N skipped".  Needs root (chroot, mounts,
# debootstrap).  Each build takes 3-5 minutes on 2 cores: not part of
# .ci/run.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_HOSTS_DIR:-/tmp/gcfreeze-hosts}
SUITES=(bullseye bookworm trixie)
SUITE=
ROOT=
BUILD_ARGS=(--build-dir "$WORK/fetch")

trap unmount_all EXIT
trap 'exit 130' INT TERM

usage() {
  echo "usage: ci/test-hosts.sh [--suites \"bullseye bookworm trixie\"] [VERSION...]" >&2
  exit 2
}

# The project as committed, and the cached sources, inside the root.
seed_root() {
  local root=$1 cache
  cache=$("$BUILD_SH" --print-cache)
  mkdir -p "$root/src/gcfreeze" "$root/root/.cache"
  git -C "$TOP" archive HEAD | tar -x -C "$root/src/gcfreeze"
  cp -a "$cache" "$root/root/.cache/gcfreeze"
  rm -rf "$root/root/.cache/gcfreeze/build"
}

# build.sh prints "modules" lines; anything but "every extension module was
# built" (besides the other platforms' list) is a missing module.
host_build() {
  local rel=$1 log=$2
  in_root "$ROOT" sh -c "cd /src/gcfreeze && ./build.sh --prefix /opt/gcfreeze $rel" >"$log" 2>&1 || {
    tail -n 30 "$log"
    return 1
  }
  grep '^    ' "$log"
  grep -q 'every extension module was built' "$log"
}

own_test_gc() { in_root "$ROOT" "/opt/gcfreeze/bin/python$1" -m test test_gc; }

test_version() {
  local series=$1 rel=$2 logs=$WORK/logs-$SUITE-$2
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  step "build.sh in Debian $SUITE: every module" "$logs/check-build.log" host_build "$rel" "$logs/build.log"
  step "Lib-tests" "$logs/lib-tests.log" lib_tests_in_root "$ROOT" "/opt/gcfreeze/bin/python$series"
  step --independent "test_gc" "$logs/test_gc.log" own_test_gc "$series"
}

test_suite() {
  local tar
  SUITE=$1 ROOT=$WORK/root-$1
  shift
  tar=$(cached_root_tar "$SUITE") || die "debootstrap $SUITE failed"
  fresh_root "$ROOT" "$tar"
  seed_root "$ROOT"
  SUMMARY_WHAT=" on Debian $SUITE" VERSION_TITLE="(Debian $SUITE)"
  for_each_version test_version "$@"
  remove_root "$ROOT"
}

main() {
  local versions=() s
  while [[ $# -gt 0 ]]; do
    case $1 in
      --suites) [[ $# -ge 2 ]] || usage; read -ra SUITES <<<"$2"; shift ;;
      -*) usage ;;
      *) versions+=("$1") ;;
    esac
    shift
  done
  [[ $(id -u) -eq 0 ]] || die "needs root (chroot, mounts, debootstrap): run it with sudo"
  mkdir -p "$WORK"
  command -v debootstrap >/dev/null 2>&1 || install_tools "$WORK/apt-tools.log" debootstrap
  for s in "${SUITES[@]}"; do test_suite "$s" "${versions[@]+"${versions[@]}"}"; done
  summary
}

main "$@"
