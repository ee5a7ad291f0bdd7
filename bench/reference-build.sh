#!/usr/bin/env bash
# bench/reference-build.sh [--prefix DIR] [--build-dir DIR] [--jobs N] SERIES
#
# The interpreter ours is compared with on 3.x (bench/speed.sh): the release
# built the way the official python:X.Y images build it, profile-guided with
# the same subset of the test suite (build.sh --print-profile-task) and
# link-time optimized (--enable-optimizations --with-lto; 3.4 has neither
# option: make profile-opt, no LTO), the python executable linked to the
# shared libpython, no -fno-semantic-interposition.  Only the compat series
# is applied (without it the release does not build on current hosts): no
# security series, no freeze series.
#
#   bench/reference-build.sh 3.6
#   bench/speed.sh official=/opt/gcfreeze-bench/official-3.6/bin/python3.6 \
#     ours=/opt/gcfreeze/python3.6/bin/python3.6
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_SH=$TOP/build.sh
PREFIX=
BUILD_DIR=/var/tmp/gcfreeze-reference
JOBS=2

say() { printf '==> %s\n' "$*"; }
die() {
  echo "bench/reference-build.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
  exit 2
}

# timed NAME LOG CMD...: CMD with its output in LOG, one progress line.
timed() {
  local name=$1 log=$2 start
  shift 2
  start=$(date +%s)
  printf '    %-10s ' "$name"
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED ($(($(date +%s) - start))s)"
    tail -n 15 "$log" >&2
    die "$name failed (log: $log)"
  fi
  echo "done ($(($(date +%s) - start))s)"
}

# The flags the official images add to build.sh's own configure arguments.
official_configure() {
  case $1 in 3.4) ;; *) echo --enable-optimizations --with-lto ;; esac
}

main() {
  local series tree task target=() flags
  while [[ $# -gt 0 ]]; do
    case $1 in
      --prefix) [[ $# -ge 2 ]] || usage; PREFIX=$2; shift ;;
      --build-dir) [[ $# -ge 2 ]] || usage; BUILD_DIR=$2; shift ;;
      --jobs) [[ $# -ge 2 ]] || usage; JOBS=$2; shift ;;
      -h | --help) usage ;;
      -*) usage ;;
      *) [[ -z "${series:-}" ]] || usage; series=$1 ;;
    esac
    shift
  done
  [[ -n "${series:-}" ]] || usage
  # build.sh answers for an unknown series with its usage error
  read -r series _ < <("$BUILD_SH" --list "$series") || exit 2
  PREFIX=${PREFIX:-/opt/gcfreeze-bench/official-$series}
  tree=$("$BUILD_SH" --stock --no-security --build-dir "$BUILD_DIR" --print-tree "$series")
  task=$("$BUILD_SH" --print-profile-task "$series")
  [[ $series != 3.4 ]] || target=(profile-opt)
  mkdir -p "$BUILD_DIR/logs" || die "cannot create $BUILD_DIR: pass --build-dir DIR"
  say "Python $series as the official images build it → $PREFIX   logs: $BUILD_DIR/logs"
  read -r -a flags <<<"$(official_configure "$series")"
  timed configure "$BUILD_DIR/logs/configure-$series.log" \
    "$BUILD_SH" --stock --no-security --configure-only --jobs "$JOBS" --build-dir "$BUILD_DIR" \
    --prefix "$PREFIX" "$series" -- "${flags[@]+"${flags[@]}"}"
  timed make "$BUILD_DIR/logs/make-$series.log" \
    make -C "$tree" -j "$JOBS" "${target[@]+"${target[@]}"}" PROFILE_TASK="$task"
  timed install "$BUILD_DIR/logs/install-$series.log" make -C "$tree" install
  say "installed: $PREFIX/bin/python$series"
}

main "$@"
