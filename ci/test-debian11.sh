#!/usr/bin/env bash
# ci/test-debian11.sh — Debian 11's own python2.7 with gc.freeze(): a drop-in
# for Debian 11 hosts.
#
#   1. a Debian 11 (bullseye) minbase root, debootstrapped once from the
#      mirror this machine's apt uses and cached as a tarball
#      (GCFREEZE_ROOTFS_CACHE, default /var/cache/gcfreeze);
#   2. in a fresh copy of it: build-essential, `apt-get source python2.7`
#      (deb-src from the same mirror) and its build dependencies;
#   3. the freeze series, patches/2.7/series, after the one patch of
#      patches/2.7/compat that bullseye needs too (the rest is about OpenSSL 3
#      and gcc 12, which bullseye does not have), appended to
#      Debian's debian/patches/series.in, so that debian/rules applies it with
#      quilt after Debian's own patches; it must apply there with --fuzz=0
#      (an offset is reported, not refused); a debian/changelog entry makes the
#      version Debian's plus +gcfreezeN (GCFREEZE_PKG_REVISION, default 1);
#   4. DEB_BUILD_OPTIONS="nocheck nodoc nobench parallel=N" (N:
#      GCFREEZE_DEB11_JOBS, default 2) DEB_BUILD_PROFILES=nocheck
#      nice -n 10 dpkg-buildpackage -us -uc -b -R'debian/rules with_pgo=';
#      the packages go to DIST (GCFREEZE_DEB11_DIST, default WORK/dist),
#      listed in DIST/packages.txt;
#   5. in a fresh bullseye minbase root: the stock python2.7 from the archive,
#      then the rebuilt packages installed over it with apt-get (exactly those
#      of the source package that were installed), `dpkg -l` shows the
#      +gcfreezeN versions, gc.freeze() works in /usr/bin/python2.7, the
#      Lib-tests pass, and so does test_gc of the rebuilt libpython2.7-testsuite
#      (the upstream gc.freeze() tests of the series among them).
#
# Each step prints one line with its duration; full logs go to WORK/logs
# (WORK: GCFREEZE_DEB11_DIR, default /tmp/gcfreeze-deb11), a failed step
# prints the tail of its log and the steps that depend on it are skipped.
# Ends with "N passed, N failed, N skipped".  Every run builds in a fresh copy
# of the root (nothing of an earlier, maybe half-done, build is reused); the
# build root is kept after a failure, for a look, and removed after a pass.
# Needs root (debootstrap, chroot, mounts).
#
# Options:
#   --pgo   build with profile-guided optimisation, as Debian's own packages
#           are: debian/rules then runs most of the regression suite to train
#           the optimiser (over 2 hours on 2 cores here); without it the
#           build is otherwise Debian's, LTO included
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_DEB11_DIR:-/tmp/gcfreeze-deb11}
DIST=${GCFREEZE_DEB11_DIST:-$WORK/dist}
LOGS=$WORK/logs
SUITE=bullseye
ROOT_TAR=$(root_tar_path "$SUITE")
BUILD_ROOT=$WORK/build-root
TEST_ROOT=$WORK/test-root
SRC_PKG=python2.7
SERIES_DIR=$TOP/patches/2.7
REVISION=${GCFREEZE_PKG_REVISION:-1}
MAINTAINER=${GCFREEZE_PKG_MAINTAINER:-gcfreeze maintainers <gcfreeze@localhost>}
JOBS=${GCFREEZE_DEB11_JOBS:-2}
# debian/rules of python2.7 honours nocheck, nobench and parallel=N; nodoc is
# not looked at (the -doc package is built all the same), and no option or
# profile skips the debug, shared-debug or PGO builds.
BUILD_OPTIONS="nocheck nodoc nobench parallel=$JOBS"
BUILD_PROFILES=nocheck
# debian/rules sets with_pgo on amd64 and friends; the command line wins
RULES="debian/rules with_pgo="
SKIPPED=0
BLOCKED=
TIMINGS=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# step [--independent] NAME LOG COMMAND...: a check that is skipped when an
# earlier step failed; its failure makes the later steps skip, unless it is
# --independent (a test that the following ones do not need).  Call it as a
# command of its own, then ask ok (see check in ci/lib.sh).
step() {
  local independent=0 name
  if [[ "$1" == --independent ]]; then
    independent=1
    shift
  fi
  name=$1
  if [[ -n "$BLOCKED" ]]; then
    SKIPPED=$((SKIPPED + 1))
    CHECK_OK=0
    note "skip  $name (after: $BLOCKED)"
    return 0
  fi
  check "$@"
  if ok; then
    TIMINGS+=("$(printf '%6ss  %s' "$LAST_SECONDS" "$name")")
  else
    TIMINGS+=("$(printf '%6ss  %s (FAILED)' "$LAST_SECONDS" "$name")")
    [[ $independent -eq 1 ]] || BLOCKED=$name
  fi
}

cleanup() {
  unmount_root "$BUILD_ROOT"
  unmount_root "$TEST_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools() {
  command -v debootstrap >/dev/null 2>&1 || install_tools "$LOGS/apt-tools.log" debootstrap
}

# --- the Debian 11 root -----------------------------------------------------------

# apt sources in a root: SUITE from the mirror this machine's apt uses, and,
# in the build root, its deb-src.
write_sources() {
  local root=$1 with_src=$2 mirror
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || { echo "no Debian mirror in /etc/apt"; return 1; }
  printf 'deb %s %s main\n' "$mirror" "$SUITE" >"$root/etc/apt/sources.list"
  [[ $with_src -eq 0 ]] || printf 'deb-src %s %s main\n' "$mirror" "$SUITE" >>"$root/etc/apt/sources.list"
  cat "$root/etc/apt/sources.list"
}

# --- build -----------------------------------------------------------------------

# The unpacked source tree, as a path in the build root.
src_dir() {
  local d
  d=$(find "$BUILD_ROOT/build" -mindepth 1 -maxdepth 1 -type d -name "$SRC_PKG-*" | head -n 1)
  [[ -n "$d" ]] || return 1
  echo "${d#"$BUILD_ROOT"}"
}

# Debian's version of the source package (from the .dsc apt-get source fetched).
debian_version() { sed -n 's/^Version: //p' "$BUILD_ROOT"/build/"$SRC_PKG"_*.dsc | head -n 1; }
new_version() { echo "$(debian_version)+gcfreeze$REVISION"; }

build_root_setup() {
  fresh_root "$BUILD_ROOT" "$ROOT_TAR"
  write_sources "$BUILD_ROOT" 1
  # no man-db database rebuild after every install (minutes here, and unused)
  echo 'man-db man-db/auto-update boolean false' | in_root "$BUILD_ROOT" debconf-set-selections
  in_root "$BUILD_ROOT" apt-get update -q
  in_root "$BUILD_ROOT" apt-get install -y -q --no-install-recommends build-essential
  mkdir -p "$BUILD_ROOT/build"
}

get_source() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" sh -c 'cd /build && apt-get source -q "$1"' sh "$SRC_PKG"
  src_dir
  debian_version
  [[ -n "$(debian_version)" ]]
}

build_deps() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" sh -c 'cd /build && apt-get build-dep -y -q --no-install-recommends -P "$1" "./$2"' \
    sh "$BUILD_PROFILES" "$(basename "$(src_dir)")"
}

# Of patches/2.7/compat, what bullseye's OpenSSL 1.1.1 needs as well: Debian's
# own python2.7 lists no OpenSSL digests (bpo-38550), and the Lib-tests see it.
DEBIAN_COMPAT=(compat/hashlib-digest-names.patch)

# Our patches, relative to SERIES_DIR, in the order they apply.
our_patches() {
  printf '%s\n' "${DEBIAN_COMPAT[@]}"
  grep -vE '^[[:space:]]*(#|$)' "$SERIES_DIR/series"
}

# Our patches go into debian/patches and at the end of series.in (debian/rules
# makes debian/patches/series from it with cpp, then runs quilt push -a).
# Then a dry run in the tree: Debian's patches as debian/rules applies them,
# ours with --fuzz=0; the tree is left unpatched again for dpkg-buildpackage.
add_series() {
  local src host_src p name list=() ours=() newver
  src=$(src_dir)
  host_src=$BUILD_ROOT$src
  mapfile -t list < <(our_patches)
  for p in "${list[@]}"; do
    name=$(basename "$p")
    [[ -f "$SERIES_DIR/$p" ]] || { echo "$SERIES_DIR/$p is missing"; return 1; }
    [[ ! -e "$host_src/debian/patches/$name" ]] || { echo "debian/patches/$name exists already"; return 1; }
    cp "$SERIES_DIR/$p" "$host_src/debian/patches/$name"
    ours+=("$name")
  done
  [[ -z "$(tail -c 1 "$host_src/debian/patches/series.in")" ]] || echo >>"$host_src/debian/patches/series.in"
  printf '%s\n' "${ours[@]}" >>"$host_src/debian/patches/series.in"
  echo "appended to debian/patches/series.in: ${ours[*]}"

  newver=$(new_version)
  {
    printf '%s (%s) %s; urgency=medium\n\n' "$SRC_PKG" "$newver" "$SUITE"
    printf '  * gc.freeze(), gc.unfreeze() and gc.get_freeze_count(), backported from\n'
    printf '    CPython 3.7 (bpo-31558), and OpenSSL'"'"'s digests listed in\n'
    printf '    hashlib.algorithms_available (bpo-38550): the gcfreeze patches,\n'
    printf '    applied after Debian'"'"'s own:\n'
    for p in "${ours[@]}"; do
      printf '    - debian/patches/%s\n' "$p"
    done
    printf '\n -- %s  %s\n\n' "$MAINTAINER" "$(LC_ALL=C date -R)"
    cat "$host_src/debian/changelog"
  } >"$host_src/debian/changelog.new"
  mv "$host_src/debian/changelog.new" "$host_src/debian/changelog"
  sed -n '1,/^ -- /p' "$host_src/debian/changelog"

  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" QUILT_PATCHES=debian/patches bash -c '
    set -euo pipefail
    cd "$1"
    shift
    dpkg-parsechangelog -S Version
    debian/rules debian/patches/series
    total=$(wc -l <debian/patches/series)
    [[ "$(tail -n $# debian/patches/series)" == "$(printf "%s\n" "$@")" ]] ||
      { echo "debian/patches/series does not end with our patches:"; cat debian/patches/series; exit 1; }
    last=$(sed -n "$((total - $#))p" debian/patches/series)
    echo "=== the $((total - $#)) Debian patches, applied as debian/rules does (quilt, default fuzz), up to $last"
    quilt push "$last"
    echo "=== our patches, quilt push --fuzz=0"
    quilt push -a --fuzz=0
    echo "=== end of our patches"
    quilt pop -a -q
    rm -rf .pc debian/patches/series
  ' bash "$src" "${ours[@]}"
}

# Hunks of our patches that applied at an offset (from add_series' log).
series_offsets() {
  awk '/^=== our patches/ { on = 1; next } /^=== end/ { on = 0 }
    on && /^Applying patch/ { p = $3; sub(".*/", "", p) }
    on && /offset/ { print p ": " $0 }' "$1"
}

build_packages() {
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$BUILD_ROOT" DEB_BUILD_OPTIONS="$BUILD_OPTIONS" DEB_BUILD_PROFILES="$BUILD_PROFILES" \
    nice -n 10 sh -c 'cd "$1" && dpkg-buildpackage -us -uc -b -R"$2"' sh "$(src_dir)" "$RULES"
}

# The build's files into DIST; DIST/packages.txt lists "PACKAGE FILE" of each .deb.
collect_packages() {
  local f newver n=0
  newver=$(new_version)
  mkdir -p "$DIST"
  rm -f "$DIST/packages.txt"
  for f in "$BUILD_ROOT"/build/*_"$newver"_*.deb "$BUILD_ROOT"/build/*_"$newver"_*.ddeb \
    "$BUILD_ROOT"/build/"$SRC_PKG"_"$newver"_*.changes "$BUILD_ROOT"/build/"$SRC_PKG"_"$newver"_*.buildinfo; do
    [[ -e "$f" ]] || continue
    cp "$f" "$DIST/"
    case $f in
      *.deb)
        printf '%s %s\n' "$(dpkg-deb -f "$f" Package)" "$DIST/$(basename "$f")" >>"$DIST/packages.txt"
        n=$((n + 1))
        ;;
    esac
  done
  [[ $n -gt 0 ]] || { echo "no *_${newver}_*.deb in $BUILD_ROOT/build"; ls -l "$BUILD_ROOT/build"; return 1; }
  (cd "$DIST" && ls -l ./*_"$newver"_*)
}

# --- test --------------------------------------------------------------------------

built_packages() { cut -d' ' -f1 "$DIST/packages.txt"; }
deb_of() { awk -v p="$1" '$1 == p { print $2 }' "$DIST/packages.txt"; }

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
  write_sources "$TEST_ROOT" 0
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
  local p debs=() names=() newver after
  newver=$(new_version)
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
  in_root "$TEST_ROOT" dpkg -S /usr/bin/python2.7
  in_root "$TEST_ROOT" python2.7 -c 'import gc, sys; gc.freeze(); n = gc.get_freeze_count(); print("%s frozen: %d" % (sys.version.split()[0], n)); assert n > 0; gc.unfreeze(); assert gc.get_freeze_count() == 0'
}

# Debian's test_gc, with the series' gc.freeze() tests, from the rebuilt
# libpython2.7-testsuite.
testsuite_test_gc() {
  local deb
  deb=$(deb_of libpython2.7-testsuite)
  [[ -n "$deb" ]] || { echo "libpython2.7-testsuite was not built"; return 1; }
  in_root "$TEST_ROOT" apt-get install -y -q "/tmp/debs/$(basename "$deb")"
  # shellcheck disable=SC2016  # expanded by the shell in the root
  in_root "$TEST_ROOT" sh -c 'cd /tmp && python2.7 -m test.regrtest -v test_gc >/tmp/test_gc.out 2>&1; rc=$?; cat /tmp/test_gc.out; exit $rc'
  echo "--- the series' tests:"
  grep -E '^test_(un)?freeze.* \.\.\. ok$' "$TEST_ROOT/tmp/test_gc.out"
}

# --- main --------------------------------------------------------------------------

main() {
  case "${1:-}" in
    -h | --help)
      usage
      return 0
      ;;
    --pgo) RULES=debian/rules ;;
    "") ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  [[ $(id -u) -eq 0 ]] || die "run as root: this uses debootstrap, chroot and mounts (sudo $0)"
  [[ -f "$SERIES_DIR/series" ]] || die "no $SERIES_DIR/series"
  mkdir -p "$WORK" "$LOGS"
  exec 9>"$WORK/.lock"
  flock -n 9 || die "another run is using $WORK"
  rm -f "$LOGS"/*.log "$LOGS"/*.txt "$DIST/packages.txt"
  ensure_tools
  local start off line
  start=$(date +%s)

  say "Debian 11 ($SUITE) python2.7 with the freeze series (logs: $LOGS)"
  step "Debian 11 root ($ROOT_TAR)" "$LOGS/root.log" cached_root_tar "$SUITE"
  step "build root: fresh copy, deb-src $SUITE, build-essential" "$LOGS/build-root.log" build_root_setup
  step "apt-get source $SRC_PKG" "$LOGS/source.log" get_source
  if ok; then
    note "      $SRC_PKG $(debian_version) from $SUITE; building $(new_version)"
  fi
  step "apt-get build-dep $SRC_PKG (profile $BUILD_PROFILES)" "$LOGS/build-dep.log" build_deps
  step "our patches after Debian's (--fuzz=0); changelog +gcfreeze$REVISION" "$LOGS/series.log" add_series
  if ok; then
    off=$(series_offsets "$LOGS/series.log")
    if [[ -n "$off" ]]; then
      note "      applied at an offset:"
      while IFS= read -r line; do note "    $line"; done <<<"$off"
    else
      note "      every hunk applied with no fuzz and no offset"
    fi
  fi
  step "dpkg-buildpackage -us -uc -b -R'$RULES' (nice -n 10; DEB_BUILD_OPTIONS=\"$BUILD_OPTIONS\")" "$LOGS/build.log" build_packages
  step "packages to $DIST" "$LOGS/collect.log" collect_packages
  if ok; then
    while read -r _ f; do note "      $(basename "$f") $(du -h "$f" | cut -f1)"; done <"$DIST/packages.txt"
  fi

  say "the rebuilt packages over the stock ones in a fresh $SUITE root"
  step "apt-get install $SRC_PKG (stock, from the archive)" "$LOGS/test-stock.log" test_root_stock
  step "apt-get install the rebuilt packages over them" "$LOGS/test-install.log" install_rebuilt
  if ok; then
    while read -r p v; do note "      $p $v"; done <"$LOGS/rebuilt-versions.txt"
  fi
  step --independent "gc.freeze() in /usr/bin/python2.7" "$LOGS/test-smoke.log" freeze_smoke
  if ok; then
    note "      $(tail -n 1 "$LOGS/test-smoke.log")"
  fi
  step --independent "Lib-tests" "$LOGS/test-lib-tests.log" lib_tests_in_root "$TEST_ROOT" python2.7
  if [[ -s "$LOGS/test-lib-tests.log" ]]; then
    note "      $(grep -E '^(Ran|OK|FAILED)' "$LOGS/test-lib-tests.log" | tr '\n' ' ')"
    grep -E " \.\.\. skipped " "$LOGS/test-lib-tests.log" | sed 's/^/        skipped: /' || true
  fi
  step --independent "test_gc of the rebuilt libpython2.7-testsuite" "$LOGS/test-gc.log" testsuite_test_gc

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
  [[ ! -s "$DIST/packages.txt" ]] || note "packages: $DIST"
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 && $SKIPPED -eq 0 ]]
}

main "$@"
