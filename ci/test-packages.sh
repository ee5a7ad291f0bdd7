#!/usr/bin/env bash
# ci/test-packages.sh [VERSION...] — build the .deb and the .rpm of each
# version whose source can be had (build.sh --package), and test them:
#
#   .deb  installed with apt-get into a fresh Debian 12 chroot (dependencies
#         resolved from the archive), gc.freeze() and the Lib-tests run with
#         pythonX.Y-gcfreeze, nothing is written under the prefix, and
#         `apt-get remove --purge` leaves no file behind;
#   .rpm  no RPM distribution root can be made here, so: the declared Requires
#         name every system library the binaries need, the package installs
#         with --nodeps into a scratch root with the expected layout, the
#         interpreter runs from there, and `rpm -e` leaves no file behind.
#
# Ends with "N passed, N failed, N skipped" (checks passed and failed,
# versions skipped).  Needs root (chroot, mounts, debootstrap).
#
# `ci/test-packages.sh --deb-only VERSION...` leaves the .rpm out (.ci/run
# tests the 2.7 .deb this way).  `--quick` (before --deb-only) builds the
# packages with build.sh --no-optimize: the same files, without the PGO+LTO
# build that --package does by default (about 25 more minutes for 2.7 on 2
# loaded cores, which would take .ci/run past 45 minutes).
#
# `ci/test-packages.sh --bookworm-root` only prints the path of the cached
# Debian 12 minbase root tarball (made once with debootstrap, from the mirror
# this machine's apt uses).  (ci/test-image.sh makes its base images from
# packaging/chroot.sh's cached_root_tar SUITE itself.)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_PKG_DIR:-/tmp/gcfreeze-pkg}
BUILD_DIR=$WORK/build
DIST=$WORK/dist
ROOT_TAR=
DEB_ONLY=0
PACKAGE_FLAGS=() # --quick: --no-optimize
BUILD_ARGS=(--build-dir "$BUILD_DIR")
SUMMARY_WHAT=" packages"

# --- tools and the Debian 12 root ---------------------------------------------

ensure_tools() {
  local missing=() cmd
  for cmd in debootstrap:debootstrap rpmbuild:rpm rpm2cpio:rpm2cpio dpkg-shlibdeps:dpkg-dev readelf:binutils cpio:cpio; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
  done
  [[ ${#missing[@]} -eq 0 ]] || install_tools "$WORK/apt-tools.log" "${missing[@]}"
}

# --- chroots (helpers in ci/lib.sh) --------------------------------------------

trap unmount_all EXIT
trap 'exit 130' INT TERM

# Every file, symlink and directory of the root but the pseudo file systems.
root_listing() {
  (cd "$1" && find . -xdev -mindepth 1 \( -path ./proc -o -path ./dev \) -prune -o -print | sort)
}

# --- the .deb -------------------------------------------------------------------

# packaged FORMAT RELEASE: the file build.sh --package wrote, from the
# manifest it keeps ("FORMAT SERIES RELEASE PACKAGE FILE").
packaged() {
  awk -v f="$1" -v r="$2" '$1 == f && $3 == r { print $5 }' "$DIST/manifest.txt" 2>/dev/null | tail -n 1
}

deb_install() {
  local root=$1 deb=$2 pkg=$3 logs=$4
  cp "$deb" "$root/tmp/"
  in_root "$root" apt-get update -q
  in_root "$root" apt-get install -y -q "/tmp/$(basename "$deb")"
  rm -f "$root/tmp/$(basename "$deb")"
  in_root "$root" dpkg -L "$pkg" | sort -u >"$logs/pkg.list"
  root_listing "$root" >"$logs/root-installed.list"
}

deb_smoke() {
  local root=$1 series=$2
  in_root "$root" "python$series-gcfreeze" -c 'import gc, sys; gc.freeze(); print("%s frozen: %d" % (sys.version.split()[0], gc.get_freeze_count())); assert gc.get_freeze_count() > 0'
  [[ ! -e "$root/usr/bin/python" && ! -e "$root/usr/bin/python$series" ]] || { echo "/usr/bin/python* was installed"; return 1; }
}

# Running the interpreter as root wrote nothing under the prefix: every file
# there is the package's (the byte-code is shipped).
deb_nothing_written() {
  local root=$1 pkg=$2 prefix=$3 extra
  extra=$(comm -13 <(in_root "$root" dpkg -L "$pkg" | sort -u) \
    <(cd "$root" && find ".$prefix" | sed 's|^\.||' | sort -u))
  [[ -z "$extra" ]] || { echo "files under $prefix that the package does not own:"; echo "$extra"; return 1; }
  echo "every path under $prefix belongs to $pkg"
}

# After the purge: nothing under /opt/gcfreeze, no /usr/bin/pythonX.Y-gcfreeze;
# compared with the listing taken right after the install, the purge removed
# the package's paths (but directories other packages share) and running
# the interpreter left nothing new anywhere (apt and dpkg state aside).
deb_purge() {
  local root=$1 pkg=$2 series=$3 logs=$4 new kept
  # what a pip install into the prefix adds: the purge removes it too
  in_root "$root" "python$series-gcfreeze" -c "import os, site; d = os.path.join(site.getsitepackages()[0], 'gcfreeze_added'); os.mkdir(d); open(os.path.join(d, '__init__.py'), 'w').close(); __import__('gcfreeze_added')"
  in_root "$root" apt-get remove --purge -y -q "$pkg"
  root_listing "$root" >"$logs/root-purged.list"
  [[ ! -e "$root/opt/gcfreeze" ]] || { echo "left behind:"; find "$root/opt/gcfreeze"; return 1; }
  [[ ! -e "$root/usr/bin/python$series-gcfreeze" && ! -L "$root/usr/bin/python$series-gcfreeze" ]] ||
    { echo "left behind: /usr/bin/python$series-gcfreeze"; return 1; }
  new=$(comm -13 "$logs/root-installed.list" "$logs/root-purged.list" |
    grep -vE '^\./(var/lib/(dpkg|apt)|var/cache|var/log|tmp|Lib-tests)(/|$)' || true)
  [[ -z "$new" ]] || { echo "paths that appeared after the install and stayed after the purge:"; echo "$new"; return 1; }
  kept=$(comm -12 <(sed 's|^|.|' "$logs/pkg.list") "$logs/root-purged.list" |
    while IFS= read -r p; do [[ -d "$root/$p" && ! -L "$root/$p" ]] || echo "$p"; done)
  [[ -z "$kept" ]] || { echo "package files the purge left:"; echo "$kept"; return 1; }
  echo "the purge removed the $(wc -l <"$logs/pkg.list") paths of $pkg (directories shared with other packages aside: $(comm -12 <(sed 's|^|.|' "$logs/pkg.list") "$logs/root-purged.list" | tr '\n' ' '))"
  echo "compared with the clean root: $(comm -13 "$logs/root-before.list" "$logs/root-purged.list" | wc -l) new paths, the dependencies' (still installed)"
}

test_deb() {
  local series=$1 rel=$2 logs=$3 deb
  local root=$WORK/root-$series pkg=python$series-gcfreeze
  check "build.sh --package deb" "$logs/build-deb.log" \
    "$TOP/build.sh" --package deb "${PACKAGE_FLAGS[@]+"${PACKAGE_FLAGS[@]}"}" --build-dir "$BUILD_DIR" --output "$DIST" "$rel"
  ok || return 0
  deb=$(packaged deb "$rel")
  [[ -f "$deb" ]] || { note "FAIL  no .deb of $rel in $DIST/manifest.txt"; FAILED=$((FAILED + 1)); VERSION_OK=0; return 0; }
  note "      $(basename "$deb") $(du -h "$deb" | cut -f1); $(dpkg-deb -f "$deb" Depends | cut -c1-160)"
  fresh_root "$root" "$ROOT_TAR"
  root_listing "$root" >"$logs/root-before.list"
  check "apt-get install ./$(basename "$deb") (clean Debian 12 chroot)" "$logs/deb-install.log" deb_install "$root" "$deb" "$pkg" "$logs"
  if ok; then
    check "python$series-gcfreeze: gc.freeze()" "$logs/deb-smoke.log" deb_smoke "$root" "$series"
    check "Lib-tests (installed .deb)" "$logs/deb-lib-tests.log" lib_tests_in_root "$root" "python$series-gcfreeze"
    check "nothing written under the prefix" "$logs/deb-written.log" deb_nothing_written "$root" "$pkg" "/opt/gcfreeze/python$series"
    check "apt-get remove --purge leaves nothing" "$logs/deb-purge.log" deb_purge "$root" "$pkg" "$series" "$logs"
  fi
  remove_root "$root"
}

# --- the .rpm -------------------------------------------------------------------

rpm_in() {
  local scratch=$1
  shift
  rpm --root "$scratch" --dbpath /var/lib/rpm "$@"
}

# Every shared library the package's ELF files need, and that it does not
# ship itself, is a declared Requires; libc, libssl, libcrypto, zlib and
# expat among them (libffi too where _ctypes links the system's).
rpm_requires() {
  local rpmfile=$1 series=$2 reqs needed missing=() lib
  local x=$WORK/rpm-x-$series
  rm -rf "$x" && mkdir -p "$x"
  (cd "$x" && rpm2cpio "$rpmfile" | cpio -idm --quiet)
  reqs=$(rpm -qpR "$rpmfile")
  echo "Requires:"
  while IFS= read -r lib; do printf '  %s\n' "$lib"; done <<<"$reqs"
  needed=$(find "$x" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c 'readelf -d "$1" 2>/dev/null' _ {} \; |
    sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | grep -v "^libpython$series" || true)
  for lib in $needed; do
    grep -q "^$lib(" <<<"$reqs" || missing+=("$lib")
  done
  for lib in libc.so.6 libssl.so libcrypto.so libz.so libexpat.so; do
    grep -q "^$lib" <<<"$needed" || { echo "no binary links $lib"; missing+=("$lib"); }
  done
  rm -rf "$x"
  [[ ${#missing[@]} -eq 0 ]] || { echo "libraries the binaries need but Requires does not name: ${missing[*]}"; return 1; }
  echo "all $(wc -w <<<"$needed") system libraries the binaries link are required: $(tr '\n' ' ' <<<"$needed")"
}

# Installed with --nodeps into a scratch root: the layout, and the
# interpreter runs from there (host libraries, the package's libpython).
rpm_install() {
  local scratch=$1 rpmfile=$2 series=$3 list
  local prefix=/opt/gcfreeze/python$series
  rpm_in "$scratch" --initdb
  (cd "$scratch" && find . -mindepth 1 | sort) >"$scratch.before"
  rpm_in "$scratch" --nodeps -i "$rpmfile"
  list=$(rpm -qlp "$rpmfile")
  grep -qx "/usr/bin/python$series-gcfreeze" <<<"$list" || { echo "no /usr/bin/python$series-gcfreeze in the package"; return 1; }
  grep -qx "$prefix/bin/python$series" <<<"$list" || { echo "no $prefix/bin/python$series in the package"; return 1; }
  grep -E '^/usr/bin/python' <<<"$list" | grep -vx "/usr/bin/python$series-gcfreeze" && { echo "ships /usr/bin/python*"; return 1; }
  [[ "$(readlink "$scratch/usr/bin/python$series-gcfreeze")" == "$prefix/bin/python$series" ]] ||
    { echo "/usr/bin/python$series-gcfreeze does not point to $prefix/bin/python$series"; return 1; }
  echo "$(wc -l <<<"$list") paths; /usr/bin/python$series-gcfreeze -> $prefix/bin/python$series"
  PYTHONHOME=$scratch$prefix LD_LIBRARY_PATH=$scratch$prefix/lib "$scratch$prefix/bin/python$series" \
    -c 'import gc, sys; gc.freeze(); print("%s frozen: %d" % (sys.version.split()[0], gc.get_freeze_count()))'
}

rpm_erase() {
  local scratch=$1 series=$2 left
  rpm_in "$scratch" -e "python$series-gcfreeze"
  left=$(comm -13 "$scratch.before" <(cd "$scratch" && find . -mindepth 1 ! -type d | sort) | grep -v '^\./var/lib/rpm/' || true)
  [[ -z "$left" && ! -e "$scratch/opt/gcfreeze" ]] || { echo "left behind:"; echo "$left"; find "$scratch/opt" 2>/dev/null; return 1; }
  echo "rpm -e left no file (directories left: $(cd "$scratch" && find . -mindepth 1 -type d ! -path './var*' | tr '\n' ' '))"
}

test_rpm() {
  local series=$1 rel=$2 logs=$3 rpmfile
  local scratch=$WORK/rpmroot-$series
  # the tree was just built and tested for the .deb: build.sh reuses it
  check "build.sh --package rpm" "$logs/build-rpm.log" \
    "$TOP/build.sh" --package rpm --no-test "${PACKAGE_FLAGS[@]+"${PACKAGE_FLAGS[@]}"}" --build-dir "$BUILD_DIR" --output "$DIST" "$rel"
  ok || return 0
  rpmfile=$(packaged rpm "$rel")
  [[ -f "$rpmfile" ]] || { note "FAIL  no .rpm of $rel in $DIST/manifest.txt"; FAILED=$((FAILED + 1)); VERSION_OK=0; return 0; }
  note "      $(basename "$rpmfile") $(du -h "$rpmfile" | cut -f1); no RPM distribution root can be built here: Requires checked, installed with --nodeps"
  check "rpm -qpR names the system libraries" "$logs/rpm-requires.log" rpm_requires "$rpmfile" "$series"
  rm -rf --one-file-system "$scratch" "$scratch.before" && mkdir -p "$scratch"
  check "rpm --root SCRATCH --nodeps -i: layout, interpreter runs" "$logs/rpm-install.log" rpm_install "$scratch" "$rpmfile" "$series"
  if ok; then
    check "rpm -e leaves nothing" "$logs/rpm-erase.log" rpm_erase "$scratch" "$series"
  fi
  rm -rf --one-file-system "$scratch" "$scratch.before"
}

# --- main -------------------------------------------------------------------------

test_version() {
  local series=$1 rel=$2 logs=$WORK/logs-$2
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  test_deb "$series" "$rel" "$logs"
  # (not as "cmd || test_rpm": its checks need errexit)
  if [[ $DEB_ONLY -eq 0 ]]; then test_rpm "$series" "$rel" "$logs"; fi
}

main() {
  [[ $(id -u) -eq 0 ]] || die "run as root: the .deb test uses chroot, mounts and debootstrap"
  mkdir -p "$WORK" "$DIST"
  ensure_tools
  if [[ "${1:-}" == --bookworm-root ]]; then
    cached_root_tar bookworm
    return 0
  fi
  if [[ "${1:-}" == --quick ]]; then
    PACKAGE_FLAGS=(--no-optimize)
    shift
  fi
  if [[ "${1:-}" == --deb-only ]]; then
    DEB_ONLY=1
    shift
  fi
  ROOT_TAR=$(cached_root_tar bookworm)
  for_each_version test_version "$@"
  summary
}

main "$@"
