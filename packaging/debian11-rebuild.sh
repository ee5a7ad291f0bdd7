#!/usr/bin/env bash
# packaging/debian11-rebuild.sh [--pgo] [--release VERSION] [STEP...] —
# Debian 11's own python2.7 with gc.freeze(): the Debian source package that
# versions.txt pins for the release (build.sh --list; default: the first
# release with one), rebuilt with our patches, for hosts that keep Debian's
# /usr/bin/python2.7.
#
# Steps, in this order (with no STEP, all of them, each logged to
# WORK/logs/STEP.log with one line and its duration; the first failure stops
# the run; a STEP named alone runs on what the earlier ones left in WORK, its
# output on stdout, as ci/test-debian11.sh runs them):
#   root       a minbase root of the pin's suite (bullseye), debootstrapped
#              once from the mirror this machine's apt uses and cached as a
#              tarball (GCFREEZE_ROOTFS_CACHE, default /var/cache/gcfreeze)
#   setup      a fresh copy of it as the build root: deb-src of the suite from
#              the same mirror, build-essential
#   source     apt-get source PACKAGE=VERSION, exactly the pin
#   build-dep  its build dependencies (profile nocheck)
#   patches    the patches packaging/debian11/series names, then the freeze
#              series patches/X.Y/series, appended to Debian's
#              debian/patches/series.in, so that debian/rules applies them
#              with quilt after Debian's own; they must apply there with
#              --fuzz=0 (a dry run here refuses fuzz and lists offsets,
#              which Debian's patches cause);
#              a debian/changelog entry makes the version the pin's plus
#              +gcfreezeN (GCFREEZE_PKG_REVISION, default 1)
#   build      DEB_BUILD_OPTIONS="nocheck nodoc nobench parallel=N" (N:
#              GCFREEZE_DEB11_JOBS, default 2) DEB_BUILD_PROFILES=nocheck
#              nice -n 10 dpkg-buildpackage -us -uc -b -R'debian/rules with_pgo='
#   collect    the .debs, .changes and .buildinfo to DIST (GCFREEZE_DEB11_DIST,
#              default WORK/dist), each .deb in DIST/manifest.txt as
#              "deb SERIES RELEASE PACKAGE FILE" (as build.sh --package does)
#
# WORK: GCFREEZE_DEB11_DIR, default /tmp/gcfreeze-deb11.  Every run (every
# setup step) builds in a fresh copy of the root; a full run removes the build
# root after it passed and keeps it, for a look, after a failure.
# Needs root (debootstrap, chroot, mounts).
#
# Options:
#   --pgo      build with profile-guided optimisation, as Debian's own
#              packages are: debian/rules then runs most of the regression
#              suite to train the optimiser (over 2 hours on 2 cores here);
#              without it the build is otherwise Debian's, LTO included
#   --pin      print "SERIES RELEASE SUITE PACKAGE DEBIAN-VERSION NEW-VERSION"
#              and stop
#   --release VERSION
#              the release of versions.txt whose pin to rebuild
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
# shellcheck source=packaging/lib.sh
. "$HERE/lib.sh"
# shellcheck source=packaging/chroot.sh
. "$HERE/chroot.sh"

STEPS=(root setup source build-dep patches build collect)
EXTRA_SERIES=$HERE/debian11/series
WORK=${GCFREEZE_DEB11_DIR:-/tmp/gcfreeze-deb11}
DIST=${GCFREEZE_DEB11_DIST:-$WORK/dist}
LOGS=$WORK/logs
BUILD_ROOT=$WORK/build-root
JOBS=${GCFREEZE_DEB11_JOBS:-2}
# debian/rules of python2.7 honours nocheck, nobench and parallel=N; nodoc is
# not looked at (the -doc package is built all the same), and no option or
# profile skips the debug, shared-debug or PGO builds.
BUILD_OPTIONS="nocheck nodoc nobench parallel=$JOBS"
BUILD_PROFILES=nocheck
# debian/rules sets with_pgo on amd64 and friends; the command line wins
RULES="debian/rules with_pgo="

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# Set SERIES REL SUITE SRC_PKG DEB_VERSION NEW_VERSION from the pin of
# versions.txt (asked of build.sh) for RELEASE, or the first pinned release.
read_pin() {
  local want=$1 series rel pin found=
  while read -r series rel pin; do
    [[ "$pin" != - ]] || continue
    found=1
    break
  done < <("$TOP/build.sh" --list ${want:+"$want"})
  [[ -n "$found" ]] || die "no Debian source package is pinned for ${want:-any release} in versions.txt (its last field, suite:package=version)"
  [[ "$pin" =~ ^([a-z]+):([a-z0-9.+-]+)=(.+)$ ]] || die "the pin '$pin' of $rel in versions.txt is not suite:package=version"
  SERIES=$series REL=$rel SUITE=${BASH_REMATCH[1]} SRC_PKG=${BASH_REMATCH[2]} DEB_VERSION=${BASH_REMATCH[3]}
  NEW_VERSION=$DEB_VERSION+gcfreeze$PKG_REVISION
  SERIES_DIR=$TOP/patches/$SERIES
  ROOT_TAR=$(root_tar_path "$SUITE")
}

# --- the root -----------------------------------------------------------------

step_root() { cached_root_tar "$SUITE"; }

# apt sources in a root: SUITE from the mirror this machine's apt uses, and,
# with deb-src, its sources too.
write_sources() {
  local root=$1 with_src=$2 mirror
  mirror=$(debian_mirror)
  printf 'deb %s %s main\n' "$mirror" "$SUITE" >"$root/etc/apt/sources.list"
  [[ $with_src -eq 0 ]] || printf 'deb-src %s %s main\n' "$mirror" "$SUITE" >>"$root/etc/apt/sources.list"
  cat "$root/etc/apt/sources.list"
}

step_setup() {
  fresh_root "$BUILD_ROOT" "$ROOT_TAR"
  write_sources "$BUILD_ROOT" 1
  # no man-db database rebuild after every install (minutes here, and unused)
  echo 'man-db man-db/auto-update boolean false' | in_root "$BUILD_ROOT" debconf-set-selections
  in_root "$BUILD_ROOT" apt-get update -q
  in_root "$BUILD_ROOT" apt-get install -y -q --no-install-recommends build-essential
  mkdir -p "$BUILD_ROOT/build"
}

# --- the source -----------------------------------------------------------------

# The unpacked source tree, as a path in the build root.
src_dir() {
  local d
  d=$(find "$BUILD_ROOT/build" -mindepth 1 -maxdepth 1 -type d -name "$SRC_PKG-*" | head -n 1)
  [[ -n "$d" ]] || { echo "no $SRC_PKG-* tree in $BUILD_ROOT/build: run the source step"; return 1; }
  echo "${d#"$BUILD_ROOT"}"
}

step_source() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" sh -c 'cd /build && apt-get source -q "$1"' sh "$SRC_PKG=$DEB_VERSION" ||
    { echo "apt-get source $SRC_PKG=$DEB_VERSION failed: if $SUITE has a newer $SRC_PKG, pin it in versions.txt"; return 1; }
  src_dir
  echo "$SRC_PKG $DEB_VERSION from $SUITE; building $NEW_VERSION"
}

step_build_dep() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" sh -c 'cd /build && apt-get build-dep -y -q --no-install-recommends -P "$1" "./$2"' \
    sh "$BUILD_PROFILES" "$(basename "$(src_dir)")"
}

# --- our patches ------------------------------------------------------------------

# Our patches, relative to SERIES_DIR, in the order they apply.
our_patches() {
  grep -vE '^[[:space:]]*(#|$)' "$EXTRA_SERIES"
  grep -vE '^[[:space:]]*(#|$)' "$SERIES_DIR/series"
}

# A changelog entry above Debian's, naming our patches.
changelog_entry() {
  printf '%s (%s) %s; urgency=medium\n\n' "$SRC_PKG" "$NEW_VERSION" "$SUITE"
  printf '  * gc.freeze(), gc.unfreeze() and gc.get_freeze_count(), backported from\n'
  printf "    CPython 3.7 (bpo-31558), with the gcfreeze patches, applied after\n"
  printf "    Debian's own:\n"
  printf '    - debian/patches/%s\n' "$@"
  printf '\n -- %s  %s\n\n' "$PKG_MAINTAINER" "$(LC_ALL=C date -R)"
}

# Our patches go into debian/patches and at the end of series.in (debian/rules
# makes debian/patches/series from it with cpp, then runs quilt push -a).
# Then a dry run in the tree (packaging/debian11/quilt-check.sh): Debian's
# patches as debian/rules applies them, ours with --fuzz=0 (offsets listed).
step_patches() {
  local src host_src p name list=() ours=()
  src=$(src_dir)
  host_src=$BUILD_ROOT$src
  mapfile -t list < <(our_patches)
  for p in "${list[@]}"; do
    name=$(basename "$p")
    [[ -f "$SERIES_DIR/$p" ]] || { echo "$SERIES_DIR/$p is missing (named in ${EXTRA_SERIES#"$TOP"/} or the series)"; return 1; }
    [[ ! -e "$host_src/debian/patches/$name" ]] || { echo "debian/patches/$name exists already: run the source step again"; return 1; }
    cp "$SERIES_DIR/$p" "$host_src/debian/patches/$name"
    ours+=("$name")
  done
  [[ -z "$(tail -c 1 "$host_src/debian/patches/series.in")" ]] || echo >>"$host_src/debian/patches/series.in"
  printf '%s\n' "${ours[@]}" >>"$host_src/debian/patches/series.in"
  echo "appended to debian/patches/series.in: ${ours[*]}"

  { changelog_entry "${ours[@]}" && cat "$host_src/debian/changelog"; } >"$host_src/debian/changelog.new"
  mv "$host_src/debian/changelog.new" "$host_src/debian/changelog"
  sed -n '1,/^ -- /p' "$host_src/debian/changelog"

  cp "$HERE/debian11/quilt-check.sh" "$BUILD_ROOT/tmp/quilt-check.sh"
  in_root "$BUILD_ROOT" QUILT_PATCHES=debian/patches bash /tmp/quilt-check.sh "$src" "${ours[@]}"
}

# --- build and collect --------------------------------------------------------------

step_build() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" DEB_BUILD_OPTIONS="$BUILD_OPTIONS" DEB_BUILD_PROFILES="$BUILD_PROFILES" \
    nice -n 10 sh -c 'cd "$1" && dpkg-buildpackage -us -uc -b -R"$2"' sh "$(src_dir)" "$RULES"
}

# The build's files into DIST; each .deb into DIST/manifest.txt.
step_collect() {
  local f n=0
  mkdir -p "$DIST"
  OUTDIR=$(cd "$DIST" && pwd)
  for f in "$BUILD_ROOT"/build/*_"$NEW_VERSION"_*.deb "$BUILD_ROOT"/build/*_"$NEW_VERSION"_*.ddeb \
    "$BUILD_ROOT"/build/"$SRC_PKG"_"$NEW_VERSION"_*.changes "$BUILD_ROOT"/build/"$SRC_PKG"_"$NEW_VERSION"_*.buildinfo; do
    [[ -e "$f" ]] || continue
    cp "$f" "$OUTDIR/"
    if [[ $f == *.deb ]]; then
      record_output deb "$(dpkg-deb -f "$f" Package)" "$OUTDIR/$(basename "$f")"
      n=$((n + 1))
    fi
  done
  [[ $n -gt 0 ]] || { echo "no *_${NEW_VERSION}_*.deb in $BUILD_ROOT/build"; ls -l "$BUILD_ROOT/build"; return 1; }
  (cd "$OUTDIR" && ls -l ./*_"$NEW_VERSION"_*)
}

# --- main -----------------------------------------------------------------------------

run_step() {
  case $1 in
    root) step_root ;;
    setup) step_setup ;;
    source) step_source ;;
    build-dep) step_build_dep ;;
    patches) step_patches ;;
    build) step_build ;;
    collect) step_collect ;;
    *) die "unknown step $1: one of ${STEPS[*]}" ;;
  esac
}

# One step of a full run: its output in LOGS/STEP.log, one line, the log's
# tail and exit on failure.
logged_step() {
  local name=$1 log=$LOGS/$1.log rc=0
  set +e
  (set -e; run_step "$name") >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    tail -n 25 "$log" >&2
    die "step $name failed (log: $log); the build root is kept for a look: $BUILD_ROOT"
  fi
}

full_run() {
  local s
  exec 9>"$WORK/.lock"
  flock -n 9 || die "another run is using $WORK"
  say "$SRC_PKG $DEB_VERSION ($SUITE) with the gcfreeze patches → $NEW_VERSION (logs: $LOGS)"
  for s in "${STEPS[@]}"; do step "$s" logged_step "$s"; done
  remove_root "$BUILD_ROOT" || true
  say "packages: $DIST (listed in $DIST/manifest.txt)"
}

main() {
  local release='' pin_only=0 steps=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; return 0 ;;
      --pgo) RULES=debian/rules ;;
      --pin) pin_only=1 ;;
      --release) [[ $# -ge 2 ]] || die "--release needs a VERSION"; release=$2; shift ;;
      -*) die "unknown option $1 (see --help)" ;;
      *) steps+=("$1") ;;
    esac
    shift
  done
  read_pin "$release"
  if [[ $pin_only -eq 1 ]]; then
    echo "$SERIES $REL $SUITE $SRC_PKG $DEB_VERSION $NEW_VERSION"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "run as root: this uses debootstrap, chroot and mounts (sudo $0)"
  [[ -f "$SERIES_DIR/series" ]] || die "no $SERIES_DIR/series"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing: sudo apt-get install debootstrap"
  mkdir -p "$WORK" "$LOGS"
  trap 'unmount_root "$BUILD_ROOT"' EXIT
  trap 'exit 130' INT TERM
  # a step run alone finds the build root unpacked but not mounted
  [[ ! -d "$BUILD_ROOT/proc" ]] || mount_root "$BUILD_ROOT"
  if [[ ${#steps[@]} -eq 0 ]]; then
    full_run
  else
    local s
    for s in "${steps[@]}"; do run_step "$s"; done
  fi
}

main "$@"
