#!/usr/bin/env bash
# build.sh — build a CPython release of versions.txt (2.7, 3.4-3.6) with
# gc.freeze() (bpo-31558) built in.
#
# Steps per version: fetch → verify → patch → configure → make → test → install.
# Every step logs to a file and prints one line with its duration; a failed step
# prints the tail of its log.  The install is staged and moved into the prefix
# only when complete.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSIONS_FILE=$TOP/versions.txt
PATCHES_DIR=$TOP/patches

# Exit statuses (listed by --help, where ci/lib.sh reads them).
EXIT_OK=0
EXIT_FAILURE=1
EXIT_USAGE=2
EXIT_NO_SOURCE=3

# Debian packages a full build needs (the headers of every optional module).
DEB_BUILD_DEPS=(build-essential pkg-config ca-certificates curl xz-utils
  libssl-dev zlib1g-dev libbz2-dev liblzma-dev libreadline-dev libncurses-dev
  libsqlite3-dev libgdbm-dev libgdbm-compat-dev libdb-dev tk-dev libffi-dev
  uuid-dev libexpat1-dev libnsl-dev libtirpc-dev)

# The profile run of --optimize on 3.x: the test subset the official python
# images run (the whole suite takes hours on 2 cores), less the tests a
# release does not have.  2.7's is nearly the whole suite, as Debian's
# (profile_task).
PGO_TESTS=(test_array test_base64 test_binascii test_binhex test_binop test_bytes
  test_class test_cmath test_codecs test_compile test_complex test_csv
  test_decimal test_dict test_float test_fstring test_hashlib test_io test_iter
  test_json test_long test_math test_memoryview test_pickle test_re test_set
  test_slice test_struct test_threading test_time test_traceback test_unicode)
# Calls inside libpython need not go through the PLT (CPython 3.10 does the
# same): embedders (uWSGI, mod_wsgi) get a faster shared library.
OPT_CFLAGS=-fno-semantic-interposition

# Modules 2.7's setup.py reports as missing on every 64-bit Linux host.
declare -A NOT_FOR_THIS_HOST=(
  [bsddb185]="needs Berkeley DB 1.85, which current distributions do not ship"
  [dl]="32-bit hosts only" [imageop]="32-bit hosts only" [sunaudiodev]="Solaris only"
)

PREFIX=/usr/local
SOURCE=
JOBS=$(nproc 2>/dev/null || echo 2)
APT_ETC=${GCFREEZE_APT_ETC:-/etc/apt}
CACHE=${GCFREEZE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/gcfreeze}
BUILD_ROOT=
INSTALL_DEPS=1
RUN_TESTS=1
FETCH_ONLY=0
CONFIGURE_ONLY=0
DEBUG=0
OPTIMIZE= # empty: optimized for --package, quick otherwise
PACKAGE=
QUERY=
OUTPUT=$TOP/dist
PREFIX_GIVEN=0
WITH_COMPAT=1
WITH_SECURITY=1
FLAVOR=gcfreeze
CONFIGURE_EXTRA=()
VERSIONS=()

usage() {
  cat <<EOF
Usage: ./build.sh [options] VERSION... [-- CONFIGURE-ARGS...]

Build CPython with gc.freeze(), gc.unfreeze() and gc.get_freeze_count()
(backported from 3.7) and install it as PREFIX/bin/pythonX.Y.

VERSION is a series or a release from versions.txt: $(known_versions)
(or $(known_versions 2)), several at once, or 'all'.

Options:
  --prefix DIR        install prefix (default: /usr/local)
  --source DIR|FILE   use this source tree or tarball (one VERSION only);
                      it must be the pristine release, or a vendor tree
                      that the series still applies to
  --jobs N            parallel make jobs (default: $JOBS)
  --cache DIR         where downloaded sources are kept
                      (default: \$GCFREEZE_CACHE or ~/.cache/gcfreeze)
  --build-dir DIR     where trees are built and logs kept (default: CACHE/build)
  --stock             build the release without the freeze series (to compare)
  --debug             a debug build (--with-pydebug), for refleak hunting
  --optimize          a release build: profile-guided (PGO: a profile run of
                      the test suite, nearly all of it on 2.7 as Debian's,
                      the official images' subset on 3.x) and link-time
                      optimized (LTO), with
                      -fno-semantic-interposition, and the python
                      executable linked with the static libpython (the
                      shared one is still installed for embedding); the build
                      takes many times as long (on 2 cores shared with
                      other builds, load 8-14: 2.7 about an hour, the
                      profile run 23 minutes of it; 3.6 82 minutes).
                      Plain ./build.sh is the quick development build.
                      --package builds optimized unless --no-optimize
  --no-optimize       a quick build, for --package too
  --package deb|rpm   build a package instead of installing: the interpreter
                      goes under /opt/gcfreeze/pythonX.Y (or --prefix), with
                      pythonX.Y-gcfreeze on PATH; the distro's python is untouched
  --output DIR        where --package writes its file (default: ./dist) and
                      records it in DIR/manifest.txt, one line a file:
                      "FORMAT SERIES RELEASE PACKAGE FILE" (a rebuild of the
                      same format and release replaces its line)
  --no-compat         leave out the host-compatibility series (patches/X.Y/compat)
  --no-security       leave out the security series (patches/X.Y/security):
                      the release as python.org shipped it, plus compat
  --no-deps           do not install missing build dependencies
  --no-test           skip the test step
  --fetch-only        only fetch and verify the source, then stop
  --configure-only    stop after configure (headers and pyconfig.h ready)
  -h, --help          this text

Questions other scripts ask instead of reading versions.txt or guessing
(each prints its answer on stdout and builds nothing):
  --list [VERSION...] the releases of versions.txt (all, or those named, in
                      that order; an unknown one is a usage error), one line
                      each: "SERIES RELEASE DEBIAN-SOURCE", the last field
                      suite:package=version or -
  --print-tree VERSION
                      the build tree of VERSION for these options (--build-dir,
                      --stock, --debug, --optimize, --package), whether it is
                      built yet or not
  --print-profile-task VERSION
                      the profile run of an --optimize build of VERSION
  --debian-mirror     the Debian mirror this machine's apt uses (exit 1: none)
  --print-cache       the directory sources are kept in (--cache, or default)

Arguments after -- go to ./configure unchanged.

Sources are looked up in this order: --source; CACHE/Python-X.Y.Z.tgz (checked
against the pinned sha256) or an extracted CACHE/Python-X.Y.Z/ tree; a download
from python.org (checked against the pin); on Debian, for a release with a
Debian source package in versions.txt, that package's .orig.tar.gz (checked
against the same pin).

Exit status:
  $EXIT_OK  EXIT_OK          success
  $EXIT_FAILURE  EXIT_FAILURE     a step failed (its log is named)
  $EXIT_USAGE  EXIT_USAGE       bad usage
  $EXIT_NO_SOURCE  EXIT_NO_SOURCE   no source for a release can be had here (callers skip it)
EOF
}

# --- output helpers -------------------------------------------------------

say() { printf '==> %s\n' "$*"; }
warn() { printf 'build.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'build.sh: error: %s\n' "$1" >&2
  exit "${2:-1}"
}
usage_error() { die "$1 (see ./build.sh --help)" "$EXIT_USAGE"; }

# run_step LABEL LOG COMMAND...: run COMMAND with its output in LOG, print one
# line with the duration, or the log's tail and exit on failure.
run_step() {
  local label=$1 log=$2 start rc=0
  shift 2
  start=$(date +%s)
  printf '    %-10s ' "$label"
  # A subshell with errexit of its own: any failing command ends the step
  # (errexit would be off inside a "cmd || ..." list), and an exit from die()
  # ends only the step, whose log then shows the message.
  set +e
  (
    set -e
    "$@"
  ) >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    printf 'FAILED after %ss\n' "$(($(date +%s) - start))"
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 40 "$log" >&2
    printf -- '--- end of log ---\n' >&2
    die "step '$label' failed for $REL (full log: $log)"
  fi
  printf 'done (%ss)\n' "$(($(date +%s) - start))"
}

# --- versions ---------------------------------------------------------------

# versions.txt is read here and nowhere else: other scripts ask --list.
# Print the versions.txt line for a series or release, or nothing; with no
# argument, every line.
version_line() {
  awk -v v="${1-}" '!/^#/ && NF >= 4 && (v == "" || $1 == v || $2 == v) { print; if (v != "") exit }' "$VERSIONS_FILE"
}

# The series (or, known_versions 2, the releases), space-separated.
known_versions() { version_line | awk -v f="${1:-1}" '{ printf "%s%s", sep, $f; sep = " " }'; }

# Set REL SERIES SHA URL DEBSRC for one version argument.
resolve_version() {
  local line
  line=$(version_line "$1")
  [[ -n "$line" ]] || usage_error "unknown version '$1': choose from $(known_versions) or all"
  read -r SERIES REL SHA URL DEBSRC <<<"$line"
  DEBSRC=${DEBSRC:--}
}

# --- dependencies -----------------------------------------------------------

missing_deb_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$pkg"
  done
}

ensure_build_deps() {
  [[ $INSTALL_DEPS -eq 1 ]] || return 0
  if ! command -v dpkg-query >/dev/null 2>&1; then
    warn "not a Debian system: cannot check build dependencies; install a C compiler, make, and the development headers of OpenSSL, zlib, bzip2, xz, readline, ncurses, sqlite3, gdbm, Berkeley DB, Tk, libffi, libuuid, expat and libnsl"
    return 0
  fi
  local missing=()
  read -ra missing <<<"$(missing_deb_packages "${DEB_BUILD_DEPS[@]}")"
  [[ ${#missing[@]} -gt 0 ]] || return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing build dependencies: ${missing[*]}
run:  sudo apt-get install -y ${missing[*]}
(or pass --no-deps to build without them)"
  fi
  local log=$LOG_ROOT/apt-install.log start
  start=$(date +%s)
  say "installing build dependencies: ${missing[*]}"
  if ! { apt-get update -q -o DPkg::Lock::Timeout=600 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get could not install the build dependencies (full log: $log)"
  fi
  say "build dependencies installed ($(($(date +%s) - start))s)"
}

# --- sources ----------------------------------------------------------------

sha256_of() { sha256sum "$1" | awk '{ print $1 }'; }

# PY_VERSION of a source tree, from Include/patchlevel.h.
tree_version() {
  sed -n 's/^#define[[:space:]]*PY_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' "$1/Include/patchlevel.h" 2>/dev/null
}

# Check a cached or downloaded tarball against the pin; remove it on mismatch.
verify_pinned() {
  local file=$1 got
  got=$(sha256_of "$file")
  if [[ "$got" != "$SHA" ]]; then
    rm -f "$file"
    die "$file does not match the pinned sha256 of Python-$REL.tgz (got $got, want $SHA); the file was removed. Fetch it again, or bring a tree with --source"
  fi
}

download_tarball() {
  local dest=$1
  command -v curl >/dev/null 2>&1 || return 1
  curl -fsSL --retry 2 --connect-timeout 15 -o "$dest.part" "$URL" 2>/dev/null || { rm -f "$dest.part"; return 1; }
  mv "$dest.part" "$dest"
}

# The Debian mirror this machine's apt uses: the first URI ending in /debian
# of a deb822 "URIs:" field or a one-line "deb [options] URI suite" entry
# (the options may hold spaces).  The only copy: the ci scripts and
# packaging/ ask --debian-mirror.
debian_mirror() {
  local f
  for f in "$APT_ETC"/sources.list.d/*.sources "$APT_ETC"/sources.list.d/*.list "$APT_ETC"/sources.list; do
    [[ -r "$f" ]] || continue
    awk '/^[ \t]*#/ { next }
      /^URIs:/ { for (i = 2; i <= NF; i++) print $i }
      /^deb[ \t]/ { sub(/\[[^]]*\]/, ""); print $2 }' "$f"
  done | sed 's|/$||' | grep -m1 -E '^[a-z+]+://.*/debian$' || true
}

fetch_from_debian() {
  local dest=$1 suite pkgver mirror tmp list log=$LOG_ROOT/apt-source-$REL.log
  [[ "$DEBSRC" != "-" ]] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ $(id -u) -eq 0 ]] || return 1
  suite=${DEBSRC%%:*} pkgver=${DEBSRC#*:}
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || return 1
  list=/etc/apt/sources.list.d/gcfreeze-$suite-src.list
  [[ -f "$list" ]] ||
    printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$suite" >"$list"
  tmp=$(mktemp -d "$CACHE/.apt-source.XXXXXX")
  if ! (apt-get update -q -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 &&
    cd "$tmp" && apt-get source -q --download-only "$pkgver") >"$log" 2>&1; then
    rm -rf "$tmp"
    return 1
  fi
  local orig
  orig=$(find "$tmp" -maxdepth 1 -name '*.orig.tar.gz' | head -n 1)
  [[ -n "$orig" ]] || { rm -rf "$tmp"; return 1; }
  mv "$orig" "$dest.part" && rm -rf "$tmp"
  mv "$dest.part" "$dest"
}

# Set SRC_KIND (tree|tarball) and SRC_PATH, or exit with EXIT_NO_SOURCE.
find_source() {
  local tarball=$CACHE/Python-$REL.tgz tree=$CACHE/Python-$REL
  if [[ -n "$SOURCE" ]]; then
    if [[ -d "$SOURCE" ]]; then
      SRC_KIND=tree SRC_PATH=$(cd "$SOURCE" && pwd)
    elif [[ -f "$SOURCE" ]]; then
      SRC_KIND=tarball SRC_PATH=$(cd "$(dirname "$SOURCE")" && pwd)/$(basename "$SOURCE")
    else
      usage_error "--source $SOURCE: no such directory or file"
    fi
    return 0
  fi
  if [[ -f "$tarball" ]]; then
    verify_pinned "$tarball"
    SRC_KIND=tarball SRC_PATH=$tarball
    return 0
  fi
  if [[ -d "$tree" ]]; then
    SRC_KIND=tree SRC_PATH=$tree
    return 0
  fi
  mkdir -p "$CACHE"
  if download_tarball "$tarball" || fetch_from_debian "$tarball"; then
    verify_pinned "$tarball"
    SRC_KIND=tarball SRC_PATH=$tarball
    return 0
  fi
  die "no source for Python $REL: $URL cannot be downloaded here$([[ "$DEBSRC" != "-" ]] && printf ' and the Debian source package %s cannot be fetched' "${DEBSRC#*:}").
Put Python-$REL.tgz or an extracted Python-$REL/ tree in $CACHE, or pass --source DIR|TARBALL" "$EXIT_NO_SOURCE"
}

# --- the tree -----------------------------------------------------------------

# Copy or extract the source into a fresh directory (never the user's own tree).
unpack_source() {
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest"
  if [[ "$SRC_KIND" == tree ]]; then
    cp -a "$SRC_PATH/." "$dest/"
  else
    tar -xf "$SRC_PATH" -C "$dest" --strip-components=1
  fi
  local got
  got=$(tree_version "$dest")
  [[ "$got" == "$REL" ]] || die "$SRC_PATH holds Python ${got:-(no Include/patchlevel.h)}, not $REL: pass the $REL release"
}

# series_patches DIR: the patch files of a quilt series, in order.
series_patches() {
  [[ -f "$1/series" ]] || return 0
  grep -v -e '^#' -e '^[[:space:]]*$' "$1/series"
}

# The series to apply, in order: the host-compatibility series, then the
# security backports (both in both flavors, so that stock and gcfreeze builds
# differ only in the freeze series), then the freeze series.
series_dirs() {
  [[ $WITH_COMPAT -eq 0 ]] || echo "$PATCHES_DIR/$SERIES/compat"
  [[ $WITH_SECURITY -eq 0 ]] || echo "$PATCHES_DIR/$SERIES/security"
  [[ "$FLAVOR" != gcfreeze ]] || echo "$PATCHES_DIR/$SERIES"
}

# Refuse a tree that already has any patch we would apply: a partly patched
# tree is never built on.
refuse_patched_tree() {
  local tree=$1 dir patch
  [[ ! -d "$tree/.pc" ]] || die "$SRC_PATH contains a .pc directory: it was patched with quilt; bring the pristine release"
  while read -r dir; do
    while read -r patch; do
      if patch -d "$tree" -p1 -R --dry-run -f -s <"$dir/$patch" >/dev/null 2>&1; then
        die "$SRC_PATH already contains ${dir#"$TOP"/}/$patch: bring the pristine release (your tree was not modified; nothing was built)"
      fi
    done < <(series_patches "$dir")
  done < <(series_dirs)
}

# Apply every series with no fuzz; on failure, name the patch and the file.
apply_series() {
  local tree=$1 dir patch out file
  while read -r dir; do
    while read -r patch; do
      echo "Applying ${dir#"$TOP"/}/$patch"
      if ! out=$(patch -d "$tree" -p1 -N -f --fuzz=0 --no-backup-if-mismatch <"$dir/$patch" 2>&1); then
        echo "$out"
        # the file patch was at when it failed, or the one it did not find
        file=$(printf '%s\n' "$out" | awk '/^patching file / { f = $3 }
          /^\|\+\+\+ / { m = $2; sub(/^b\//, "", m) }
          /FAILED|malformed/ { print f; exit }
          /No file to patch/ { print m " (no such file in the tree)"; exit }')
        echo "${dir#"$TOP"/}/$patch no longer applies${file:+ to $file}"
        return 1
      fi
      echo "$out"
    done < <(series_patches "$dir")
  done < <(series_dirs)
}

prepare_tree() {
  local final=$1 part=$1.part
  unpack_source "$part"
  refuse_patched_tree "$part"
  if ! apply_series "$part" >"$LOG/patch.log" 2>&1; then
    rm -rf "$part"
    tail -n 15 "$LOG/patch.log" >&2
    die "$(tail -n 1 "$LOG/patch.log"): the series does not fit this tree; the partly patched copy was removed (full log: $LOG/patch.log)"
  fi
  rm -rf "$final"
  mv "$part" "$final"
}

# What a finished build depends on.  A tree is reused only when this matches
# the stamp written after its make succeeded: an interrupted build never is.
build_stamp() {
  local dir patch
  {
    printf '%s %s compat=%s security=%s\n' "$REL" "$FLAVOR" "$WITH_COMPAT" "$WITH_SECURITY"
    if [[ "$SRC_KIND" == tarball ]]; then sha256_of "$SRC_PATH"; else echo "tree $SRC_PATH"; fi
    configure_args
    make_args
    while read -r dir; do
      while read -r patch; do cat "$dir/$patch"; done < <(series_patches "$dir")
    done < <(series_dirs)
  } | sha256sum | awk '{ print $1 }'
}

configure_args() {
  local args=(--prefix="$PREFIX" --enable-shared --enable-ipv6 --with-system-expat
    --enable-loadable-sqlite-extensions --with-ensurepip=install
    "LDFLAGS=-Wl,--enable-new-dtags,-rpath,$PREFIX/lib")
  # Debian, the official images and pyenv all build 2.7 with UCS-4 unicode.
  # Debian also builds it with computed gotos in the eval loop, which 2.7's
  # configure leaves off (3.x turns them on where the compiler has them).
  case $SERIES in 2.*) args+=(--enable-unicode=ucs4 --with-computed-gotos) ;; esac
  [[ $DEBUG -eq 0 ]] || args+=(--with-pydebug)
  if [[ $OPTIMIZE -eq 1 ]]; then
    # 3.4 has neither option: make_target runs its profile-opt instead
    case $SERIES in 3.4) ;; *) args+=(--enable-optimizations --with-lto) ;; esac
  fi
  printf '%s\n' "${args[@]}" "${CONFIGURE_EXTRA[@]+"${CONFIGURE_EXTRA[@]}"}"
}

do_configure() {
  local args=()
  mapfile -t args < <(configure_args)
  (cd "$TREE" && ./configure "${args[@]}")
}

# The tests of PGO_TESTS this release has.
pgo_tests() {
  local t
  for t in "${PGO_TESTS[@]}"; do
    case $SERIES:$t in 2.*:test_fstring | 3.[45]:test_fstring) continue ;; esac
    printf '%s ' "$t"
  done
}

# The profile run of a PGO build (--print-profile-task answers with it).
profile_task() {
  local task
  case $SERIES in
    # 2.7 is measured against Debian's python2.7, whose profile run is the
    # whole suite less a handful (debian/rules: test_gdb, test_bsddb3,
    # test_zipfile, ...); ours leaves out these four.  With the official
    # images' subset ours was 1.10 times Debian's CPU time, with this one
    # 1.02 (bench/speed.sh, one run side by side; the profile run took 23
    # minutes with -j2 at load 13)
    2.*) task="-m test.regrtest --pgo -j2 -x test_asyncore test_gdb test_multiprocessing test_subprocess" ;;
    # 3.4's regrtest has no --pgo (it quiets the output and skips slow tests)
    3.4) task="-m test.regrtest -q $(pgo_tests)" ;;
    *) task="-m test.regrtest --pgo $(pgo_tests)" ;;
  esac
  echo "${task% }"
}

# Variables for make: given on its command line, so that they do not end up
# in sysconfig's CFLAGS (extensions built later do not inherit them).
make_args() {
  [[ $OPTIMIZE -eq 1 ]] || return 0
  # The python executable links libpython's static archive, as Debian's does:
  # LTO then optimizes it as a program, not as a shared library (2.7 with
  # the official images' profile subset: 1.06-1.09 times the CPU time of
  # Debian 11's python2.7, against 1.10-1.18 linked to the .so; bench/speed.sh).
  # libpythonX.Y.so is still built and installed for embedders, and
  # python-config still names it.
  # shellcheck disable=SC2016 # a make variable, expanded by make
  printf '%s\n' "PROFILE_TASK=$(profile_task)" "EXTRA_CFLAGS=$OPT_CFLAGS" 'BLDLIBRARY=$(LIBRARY)'
}

# --enable-optimizations makes profile-opt the default target; 3.4 has no
# such option, so ask for its profile-opt by name.
make_target() {
  [[ $OPTIMIZE -eq 1 ]] || return 0
  case $SERIES in 3.4) echo profile-opt ;; esac
}

do_make() {
  local args=() target
  mapfile -t args < <(make_args)
  target=$(make_target)
  make -C "$TREE" -j "$JOBS" ${target:+"$target"} "${args[@]+"${args[@]}"}"
}

# setup.py ends its output with the extension modules it could not build;
# a drop-in interpreter must not hide them.
modules_report() {
  local missing failed removed name na=() left=()
  local out
  # a PGO build runs setup.py twice (instrumented, then final): the last run
  out=$(awk '/^Rebuilding with profile guided optimizations/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$1")
  missing=$(awk '/necessary bits to build these modules were not found/ { on = 1; next }
    on && /^$/ { on = 0 } on && !/^To find/ { printf "%s ", $0 }' <<<"$out" | tr -s ' ')
  failed=$(awk '/^Failed to build these modules/ { on = 1; next }
    on && /^$/ { on = 0 } on { printf "%s ", $0 }' <<<"$out" | tr -s ' ')
  # 3.x: built, then removed because importing it failed (2.7 lists those
  # under "Failed to build")
  removed=$(awk '/^Following modules built successfully but were removed/ { on = 1; next }
    on && /^$/ { on = 0 } on { printf "%s ", $0 }' <<<"$out" | tr -s ' ')
  # setup.py lists modules of other platforms as missing too: say which
  for name in $missing; do
    if [[ -n "${NOT_FOR_THIS_HOST[$name]:-}" ]]; then na+=("$name (${NOT_FOR_THIS_HOST[$name]})"); else left+=("$name"); fi
  done
  if [[ ${#left[@]} -eq 0 && -z "${failed// /}" && -z "${removed// /}" ]]; then
    printf '    %-10s every extension module was built\n' modules
  else
    [[ ${#left[@]} -eq 0 ]] || printf '    %-10s not built (no headers or library): %s\n' modules "${left[*]}"
    [[ -z "${failed// /}" ]] || printf '    %-10s FAILED to build: %s\n' modules "$failed"
    [[ -z "${removed// /}" ]] || printf '    %-10s built but REMOVED (importing it failed): %s\n' modules "$removed"
  fi
  [[ ${#na[@]} -eq 0 ]] || printf '    %-10s not for this platform (setup.py lists them anyway): %s\n' modules "$(printf '%s, ' "${na[@]}" | sed 's/, $//')"
  case " ${left[*]} " in
    *" nis "*) printf '    %-10s nis needs libnsl and libtirpc: apt-get install libnsl-dev libtirpc-dev\n' modules ;;
  esac
}

# The interpreter's own test_gc, and the freeze API itself, in the build tree.
do_test() {
  local check='import gc; gc.collect()'
  [[ "$FLAVOR" == stock ]] || check='import gc; gc.freeze(); assert gc.get_freeze_count() > 0; gc.unfreeze(); assert gc.get_freeze_count() == 0'
  (cd "$TREE" && LD_LIBRARY_PATH=$TREE ./python -c "$check" && LD_LIBRARY_PATH=$TREE ./python -m test -v test_gc)
}

# --- install ------------------------------------------------------------------

check_prefix_writable() {
  local p=$PREFIX
  while [[ ! -e "$p" ]]; do p=$(dirname "$p"); done
  [[ -d "$p" && -w "$p" ]] || die "cannot write to $PREFIX ($p is not writable): run as root, or pass --prefix \$HOME/.local/gcfreeze"
}

do_stage() {
  local args=()
  # the same variables as make: anything install relinks is linked alike
  mapfile -t args < <(make_args)
  rm -rf "$STAGE"
  make -C "$TREE" install DESTDIR="$STAGE" "${args[@]+"${args[@]}"}"
}

# On any exit, drop an unfinished stage and a half-made tree: nothing
# half-done is left to be picked up later.
cleanup() {
  [[ -z "${STAGING:-}" || -z "${STAGE:-}" ]] || rm -rf "$STAGE"
  [[ -z "${TREE:-}" ]] || rm -rf "$TREE.part"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Move the staged files into the prefix.  The interpreter itself goes last,
# and a journal marks the move: an interrupted move leaves no pythonX.Y in
# PREFIX/bin, and the next run starts the install again.
commit_install() {
  local staged=$STAGE$PREFIX journal=$PREFIX/.gcfreeze-install-$SERIES entry
  local python=bin/python$SERIES
  mkdir -p "$PREFIX"
  : >"$journal"
  rm -f "$PREFIX/$python"
  while IFS= read -r -d '' entry; do
    entry=${entry#"$staged"/}
    [[ "$entry" != "$python" ]] || continue
    mkdir -p "$PREFIX/$(dirname "$entry")"
    if [[ -d "$staged/$entry" && ! -L "$staged/$entry" ]]; then
      # version-specific trees (lib/pythonX.Y, include/pythonX.Y) are swapped whole
      rm -rf "$PREFIX/$entry.gcfreeze-old"
      [[ ! -e "$PREFIX/$entry" ]] || mv "$PREFIX/$entry" "$PREFIX/$entry.gcfreeze-old"
      mv "$staged/$entry" "$PREFIX/$entry"
      rm -rf "$PREFIX/$entry.gcfreeze-old"
    else
      mv -f "$staged/$entry" "$PREFIX/$entry"
    fi
  done < <(cd "$staged" && find "$staged" -mindepth 1 \( -path "$staged/lib/python$SERIES" -o -path "$staged/include/python$SERIES*" \) -prune -print0 -o \( -type f -o -type l \) -print0)
  mv -f "$staged/$python" "$PREFIX/$python"
  rm -f "$journal"
  rm -rf "$STAGE"
}

do_install() {
  [[ ! -e "$PREFIX/.gcfreeze-install-$SERIES" ]] || say "$REL: an earlier install into $PREFIX was interrupted; installing again"
  STAGING=1
  run_step stage "$LOG/stage.log" do_stage
  run_step install "$LOG/install.log" commit_install
  STAGING=
}

# --- packages -------------------------------------------------------------------

# Stage outside the prefix and hand the tree to packaging/FORMAT.sh, which
# writes OUTPUT/<package file> and records it in OUTPUT/manifest.txt.
do_package() {
  STAGE=$BUILD_ROOT/pkgroot-$REL-$FLAVOR
  STAGING=1
  run_step stage "$LOG/stage.log" do_stage
  mkdir -p "$OUTPUT"
  OUTPUT=$(cd "$OUTPUT" && pwd)
  run_step package "$LOG/package-$PACKAGE.log" \
    "$TOP/packaging/$PACKAGE.sh" "$STAGE" "$PREFIX" "$REL" "$SERIES" "$OUTPUT"
  STAGING=
  rm -rf "$STAGE"
  local file
  file=$(awk -v f="$PACKAGE" -v r="$REL" '$1 == f && $3 == r { print $5 }' "$OUTPUT/manifest.txt" 2>/dev/null | tail -n 1)
  [[ -n "$file" && -f "$file" ]] || die "packaging/$PACKAGE.sh recorded no file in $OUTPUT/manifest.txt (log: $LOG/package-$PACKAGE.log)"
  say "Python $REL ($FLAVOR) packaged: $file (listed in $OUTPUT/manifest.txt)"
}

# --- one version ----------------------------------------------------------------

# The build tree of the resolved version (--print-tree answers with it).
tree_path() {
  local name=Python-$REL-$FLAVOR
  [[ $DEBUG -eq 0 ]] || name+=-debug
  [[ $OPTIMIZE -eq 0 ]] || name+=-opt
  echo "$BUILD_ROOT/$name"
}

build_one() {
  resolve_version "$1"
  # packages live under their own prefix, so they never replace the distro's python
  [[ -z "$PACKAGE" || $PREFIX_GIVEN -eq 1 ]] || PREFIX=/opt/gcfreeze/python$SERIES
  local name t0
  t0=$(date +%s)
  TREE=$(tree_path)
  name=$(basename "$TREE")
  LOG=$LOG_ROOT/$name
  STAGE=$PREFIX/.gcfreeze-stage-$SERIES
  mkdir -p "$LOG"
  say "Python $REL ($FLAVOR) → $PREFIX/bin/python$SERIES   logs: $LOG"

  local start
  start=$(date +%s)
  printf '    %-10s ' fetch
  find_source
  printf '%s %s (%ss)\n' "$SRC_KIND" "$SRC_PATH" "$(($(date +%s) - start))"
  if [[ "$SRC_KIND" == tarball ]]; then
    local got
    got=$(sha256_of "$SRC_PATH")
    if [[ "$got" == "$SHA" ]]; then
      printf '    %-10s sha256 matches the pin\n' verify
    else
      printf '    %-10s sha256 %s is not the pinned release tarball (your --source)\n' verify "$got"
    fi
  else
    printf '    %-10s a source tree: version checked from Include/patchlevel.h\n' verify
  fi
  [[ $FETCH_ONLY -eq 0 ]] || return 0

  local stamp
  stamp=$(build_stamp)
  if [[ -z "$SOURCE" && $CONFIGURE_ONLY -eq 0 && "$(cat "$TREE/.gcfreeze-built" 2>/dev/null)" == "$stamp" ]]; then
    printf '    %-10s reused %s: built from the same source, series and configure arguments\n' make "$TREE"
  else
    rm -f "$TREE/.gcfreeze-built"
    run_step patch "$LOG/prepare.log" prepare_tree "$TREE"
    run_step configure "$LOG/configure.log" do_configure
    [[ $CONFIGURE_ONLY -eq 0 ]] || return 0
    run_step make "$LOG/make.log" do_make
    echo "$stamp" >"$TREE/.gcfreeze-built"
    modules_report "$LOG/make.log"
  fi
  if [[ $RUN_TESTS -eq 1 ]]; then
    run_step test "$LOG/test.log" do_test
  fi
  if [[ -n "$PACKAGE" ]]; then
    do_package
    return 0
  fi
  do_install
  say "Python $REL ($FLAVOR) installed: $PREFIX/bin/python$SERIES ($(($(date +%s) - t0))s)"
}

# --- main -------------------------------------------------------------------------

parse_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --prefix) [[ $# -ge 2 ]] || usage_error "--prefix needs a directory"; PREFIX=$2; PREFIX_GIVEN=1; shift ;;
      --package) [[ $# -ge 2 && $2 =~ ^(deb|rpm)$ ]] || usage_error "--package takes deb or rpm"; PACKAGE=$2; shift ;;
      --output) [[ $# -ge 2 ]] || usage_error "--output needs a directory"; OUTPUT=$2; shift ;;
      --source) [[ $# -ge 2 ]] || usage_error "--source needs a directory or tarball"; SOURCE=$2; shift ;;
      --jobs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs needs a positive number"; JOBS=$2; shift ;;
      --cache) [[ $# -ge 2 ]] || usage_error "--cache needs a directory"; CACHE=$2; shift ;;
      --build-dir) [[ $# -ge 2 ]] || usage_error "--build-dir needs a directory"; BUILD_ROOT=$2; shift ;;
      --stock) FLAVOR=stock ;;
      --debug) DEBUG=1 ;;
      --optimize) OPTIMIZE=1 ;;
      --no-optimize) OPTIMIZE=0 ;;
      --no-compat) WITH_COMPAT=0 ;;
      --no-security) WITH_SECURITY=0 ;;
      --no-deps) INSTALL_DEPS=0 ;;
      --no-test) RUN_TESTS=0 ;;
      --fetch-only) FETCH_ONLY=1 ;;
      --configure-only) CONFIGURE_ONLY=1 ;;
      --list) QUERY=list ;;
      --print-tree) QUERY=tree ;;
      --print-profile-task) QUERY=profile ;;
      --debian-mirror) QUERY=mirror ;;
      --print-cache) QUERY=cache ;;
      --) shift; CONFIGURE_EXTRA=("$@"); break ;;
      -*) usage_error "unknown option $1" ;;
      all) mapfile -t -O "${#VERSIONS[@]}" VERSIONS < <(known_versions | tr ' ' '\n') ;;
      *) VERSIONS+=("$1") ;;
    esac
    shift
  done
  case $QUERY in
    list | mirror | cache) ;;
    tree) [[ ${#VERSIONS[@]} -eq 1 ]] || usage_error "--print-tree takes one VERSION" ;;
    profile) [[ ${#VERSIONS[@]} -eq 1 ]] || usage_error "--print-profile-task takes one VERSION" ;;
    *) [[ ${#VERSIONS[@]} -gt 0 ]] || usage_error "name a VERSION to build: $(known_versions) or all" ;;
  esac
  [[ -z "$SOURCE" || ${#VERSIONS[@]} -eq 1 ]] || usage_error "--source goes with exactly one VERSION"
  # what ships is optimized; a development build is quick
  if [[ -z "$OPTIMIZE" ]]; then
    if [[ -n "$PACKAGE" && $DEBUG -eq 0 ]]; then OPTIMIZE=1; else OPTIMIZE=0; fi
  fi
  [[ $OPTIMIZE -eq 0 || $DEBUG -eq 0 ]] || usage_error "--optimize and --debug do not go together: pick one"
  [[ "$PREFIX" == /* ]] || PREFIX=$(pwd)/$PREFIX
  PREFIX=${PREFIX%/}
  [[ -n "$PREFIX" ]] || usage_error "--prefix / is not supported: pick a directory such as /usr/local"
  local v
  for v in "${VERSIONS[@]}"; do resolve_version "$v"; done # reject unknown ones before any work
}

# --list, --print-tree, --print-profile-task, --debian-mirror, --print-cache:
# answer and stop.
answer_query() {
  local v
  case $QUERY in
    list)
      if [[ ${#VERSIONS[@]} -eq 0 ]]; then
        mapfile -t VERSIONS < <(known_versions | tr ' ' '\n')
      fi
      for v in "${VERSIONS[@]}"; do
        resolve_version "$v"
        printf '%s %s %s\n' "$SERIES" "$REL" "$DEBSRC"
      done
      ;;
    tree)
      resolve_version "${VERSIONS[0]}"
      tree_path
      ;;
    profile)
      resolve_version "${VERSIONS[0]}"
      profile_task
      ;;
    cache) echo "$CACHE" ;;
    mirror)
      v=$(debian_mirror)
      [[ -n "$v" ]] || die "no Debian mirror (a deb822 URIs: field or a deb line ending in /debian) in $APT_ETC"
      echo "$v"
      ;;
  esac
}

main() {
  parse_args "$@"
  BUILD_ROOT=${BUILD_ROOT:-$CACHE/build}
  if [[ -n "$QUERY" ]]; then
    answer_query
    exit "$EXIT_OK"
  fi
  LOG_ROOT=$BUILD_ROOT/logs
  mkdir -p "$LOG_ROOT" || die "cannot create $LOG_ROOT: pass --build-dir DIR"
  if [[ $FETCH_ONLY -eq 0 ]]; then
    [[ $CONFIGURE_ONLY -eq 1 || -n "$PACKAGE" ]] || check_prefix_writable
    ensure_build_deps
  fi
  local v
  for v in "${VERSIONS[@]}"; do build_one "$v"; done
}

main "$@"
