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
CACHE=${GCFREEZE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/gcfreeze}
SUITES=(bullseye bookworm trixie)
SKIPPED=0
SUMMARY=()

trap unmount_all EXIT
trap 'exit 130' INT TERM

usage() {
  echo "usage: ci/test-hosts.sh [--suites \"bullseye bookworm trixie\"] [VERSION...]" >&2
  exit 2
}

# The project as committed, and the cached sources, inside the root.
seed_root() {
  local root=$1
  mkdir -p "$root/src/gcfreeze" "$root/root/.cache"
  git -C "$TOP" archive HEAD | tar -x -C "$root/src/gcfreeze"
  cp -a "$CACHE" "$root/root/.cache/gcfreeze"
  rm -rf "$root/root/.cache/gcfreeze/build"
}

# build.sh prints one "modules" line; anything but "every extension module
# was built" (or the other platforms' list) is a missing module.
every_module_built() {
  local log=$1
  grep -q 'every extension module was built' "$log" || {
    grep '    modules' "$log"
    return 1
  }
}

host_build() {
  local root=$1 rel=$2 log=$3
  in_root "$root" sh -c "cd /src/gcfreeze && ./build.sh --prefix /opt/gcfreeze $rel" >"$log" 2>&1 || {
    tail -n 30 "$log"
    return 1
  }
  cat "$log"
  every_module_built "$log"
}

own_test_gc() { in_root "$1" "/opt/gcfreeze/bin/python$2" -m test test_gc; }

test_suite() {
  local suite=$1 tar root=$WORK/root-$1 v series rel line logs
  shift
  say "Debian $suite"
  tar=$(cached_root_tar "$suite") || die "debootstrap $suite failed"
  fresh_root "$root" "$tar"
  seed_root "$root"
  for v in "$@"; do
    line=$("$TOP/build.sh" --fetch-only --build-dir "$WORK/fetch" "$v" 2>&1) || {
      SKIPPED=$((SKIPPED + 1))
      SUMMARY+=("SKIP $suite $v: $(grep -m1 'error:' <<<"$line" | sed 's/^build.sh: error: //')")
      continue
    }
    series=$(awk -v v="$v" '!/^#/ && NF >= 4 && ($1 == v || $2 == v) { print $1; exit }' "$TOP/versions.txt")
    rel=$(awk -v v="$v" '!/^#/ && NF >= 4 && ($1 == v || $2 == v) { print $2; exit }' "$TOP/versions.txt")
    logs=$WORK/logs-$suite-$rel
    mkdir -p "$logs"
    VERSION_OK=1
    note "$rel"
    check "$suite $rel: build.sh, every module" "$logs/check-build.log" host_build "$root" "$rel" "$logs/build.log"
    if ok; then
      check "$suite $rel: Lib-tests" "$logs/lib-tests.log" lib_tests_in_root "$root" "/opt/gcfreeze/bin/python$series"
      check "$suite $rel: test_gc" "$logs/test_gc.log" own_test_gc "$root" "$series"
    fi
    SUMMARY+=("$([[ $VERSION_OK -eq 1 ]] && echo PASS || echo FAIL) $suite $rel")
  done
  remove_root "$root"
}

main() {
  local versions=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --suites) [[ $# -ge 2 ]] || usage; read -ra SUITES <<<"$2"; shift ;;
      -h | --help) usage ;;
      -*) usage ;;
      *) versions+=("$1") ;;
    esac
    shift
  done
  [[ $(id -u) -eq 0 ]] || die "needs root (chroot, mounts, debootstrap): run it with sudo"
  command -v debootstrap >/dev/null 2>&1 || install_tools "$WORK/apt-tools.log" debootstrap
  [[ ${#versions[@]} -gt 0 ]] || mapfile -t versions < <(awk '!/^#/ && NF >= 4 { print $1 }' "$TOP/versions.txt")
  mkdir -p "$WORK"
  local s
  for s in "${SUITES[@]}"; do test_suite "$s" "${versions[@]}"; done
  echo
  printf '%s\n' "${SUMMARY[@]}"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 ]]
}

main "$@"
