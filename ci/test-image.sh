#!/usr/bin/env bash
# ci/test-image.sh [--base SUITE] [--optimize] [VERSION...] — build the
# Dockerfile for each version whose source can be had, for real, with buildah
# (chroot isolation, vfs storage), on a local Debian slim base made from a
# debootstrapped minbase root, and test the image: gc.freeze(), the official
# slim images' module set, pip (and pip install of a local package, and of one
# with a C extension once gcc is added), the official images' names, no
# compiler or -dev package, its size (at most MAX_IMAGE_MB) and the
# Lib-tests.  Prints each image's size and ends with
# "N passed, N failed, N skipped".  Needs root.
#
# --base SUITE   the Debian suite of the base: bookworm (the default), trixie
#                or bullseye; the image is localhost/debian:SUITE-slim, made
#                once from packaging/chroot.sh's cached minbase root of SUITE
#                and trimmed the way the official debian:SUITE-slim is
# --optimize     build the image as it ships (the Dockerfile's default,
#                build.sh --optimize: PGO+LTO, 15+ minutes a version on 2
#                cores); without it the quick build (--no-optimize) is tested
#
# The Python source goes into the build context as sources/ (gitignored):
# this script puts there the release under test from ~/.cache/gcfreeze (or
# $GCFREEZE_CACHE), and only it, fetching it first with build.sh --fetch-only.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_IMAGE_DIR:-/tmp/gcfreeze-image}
CACHE=$("$BUILD_SH" --print-cache)
SUITE=bookworm
BASE_IMAGE=
IMAGE_REPO=localhost/python-gcfreeze
BUILD_FLAGS=--no-optimize # the Dockerfile's GCFREEZE_BUILD_FLAGS; --optimize: its default
MAX_IMAGE_MB=150          # the official python:X.Y-slim images: 120-150 MB
CONTAINERS=()
BUILD_ARGS=(--cache "$CACHE" --build-dir "$WORK/build")
SUMMARY_WHAT=" image"

bah() { buildah --storage-driver vfs "$@"; }

cleanup() {
  local c
  for c in "${CONTAINERS[@]+"${CONTAINERS[@]}"}"; do bah rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools() {
  local missing=()
  command -v buildah >/dev/null 2>&1 || missing+=(buildah)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [[ ${#missing[@]} -eq 0 ]] || install_tools "$WORK/apt-tools.log" "${missing[@]}"
}

# --- the base image -------------------------------------------------------------

known_suite() {
  case $1 in
    bullseye | bookworm | trixie) return 0 ;;
    *) return 1 ;;
  esac
}

base_image_name() { echo "localhost/debian:$1-slim"; }

# What debian:SUITE-slim has and a debootstrap minbase root lacks (as
# debuerreotype makes it): dpkg leaves out documentation, manuals and
# translations (copyright files stay), and apt keeps no package lists, no
# downloaded .debs and no caches in the image.  Run in the root.
slim_root_script() {
  cat <<'SCRIPT'
set -eu
cat >/etc/dpkg/dpkg.cfg.d/docker <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
echo 'force-unsafe-io' >/etc/dpkg/dpkg.cfg.d/docker-apt-speedup
cat >/etc/apt/apt.conf.d/docker-clean <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >/etc/apt/apt.conf.d/docker-no-languages
echo 'Acquire::GzipIndexes "true";' >/etc/apt/apt.conf.d/docker-gzip-indexes
echo 'Apt::AutoRemove::SuggestsImportant "false";' >/etc/apt/apt.conf.d/docker-autoremove-suggests
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/groff/* /usr/share/info/* /usr/share/linda/* /usr/share/lintian/* \
  /usr/share/locale/* /usr/share/man/*
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt/* /var/log/dpkg.log
SCRIPT
}

# import_base_image TAR IMAGE: the root tarball as an image, slimmed.
import_base_image() {
  local tar=$1 image=$2 ctr
  ctr=$(bah from scratch)
  CONTAINERS+=("$ctr")
  bah add "$ctr" "$tar" / >/dev/null
  bah run --isolation chroot "$ctr" -- sh -c "$(slim_root_script)"
  bah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label gcfreeze.base=slim "$ctr"
  bah commit --quiet "$ctr" "$image" >/dev/null
  bah rm "$ctr" >/dev/null
}

# The base image: the cached debootstrap minbase root of SUITE (made from the
# mirror this machine's apt uses, packaging/chroot.sh), imported once.  An
# image of that name from before the slimming is replaced.
ensure_base_image() {
  local tar start
  if [[ "$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "gcfreeze.base"}}' "$BASE_IMAGE" 2>/dev/null)" == slim ]]; then
    note "base image $BASE_IMAGE: reused ($(image_size "$BASE_IMAGE"))"
    return 0
  fi
  start=$(date +%s)
  tar=$(cached_root_tar "$SUITE")
  import_base_image "$tar" "$BASE_IMAGE" >"$WORK/base-$SUITE.log" 2>&1 ||
    { tail -n 20 "$WORK/base-$SUITE.log"; die "could not make $BASE_IMAGE from $tar (log: $WORK/base-$SUITE.log)"; }
  note "base image $BASE_IMAGE: imported from $tar, slimmed ($(($(date +%s) - start))s, $(image_size "$BASE_IMAGE"))"
}

# The size buildah reports for an image ("139 MB"), the measure used here.
image_size() { bah images --noheading --format '{{.Size}}' "$1" | head -n 1; }

# That size in whole MB (10^6 bytes, as buildah counts).
image_size_mb() {
  image_size "$1" | awk '{ v = $1; u = toupper($2)
    if (u == "KB") v /= 1000; else if (u == "GB") v *= 1000; else if (u == "B") v /= 1000000
    printf "%d\n", v + 0.5 }'
}

# sources/ holds the release under test only (the build context stays small).
fill_sources() {
  local rel=$1 entry
  mkdir -p "$TOP/sources"
  for entry in "$TOP"/sources/Python-*; do
    [[ -e "$entry" ]] || continue
    [[ "$(basename "$entry")" == "Python-$rel" || "$(basename "$entry")" == "Python-$rel.tgz" ]] || rm -rf "$entry"
  done
  if [[ -f "$CACHE/Python-$rel.tgz" ]]; then
    [[ -f "$TOP/sources/Python-$rel.tgz" ]] || cp -l "$CACHE/Python-$rel.tgz" "$TOP/sources/" 2>/dev/null ||
      cp "$CACHE/Python-$rel.tgz" "$TOP/sources/"
  elif [[ -d "$CACHE/Python-$rel" ]]; then
    rm -rf "$TOP/sources/Python-$rel"
    cp -al "$CACHE/Python-$rel" "$TOP/sources/" 2>/dev/null || cp -a "$CACHE/Python-$rel" "$TOP/sources/"
  else
    echo "no Python-$rel.tgz or Python-$rel/ in $CACHE"
    return 1
  fi
  du -sh "$TOP/sources"
}

build_image() {
  local series=$1 image=$2 old
  old=$(bah images --noheading --format '{{.ID}}' "$image" 2>/dev/null || true)
  bah bud --isolation chroot \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg PYTHON_VERSION="$series" \
    --build-arg GCFREEZE_BUILD_FLAGS="$BUILD_FLAGS" \
    -t "$image" -f "$TOP/Dockerfile" "$TOP"
  [[ -z "$old" || "$old" == "$(bah images --noheading --format '{{.ID}}' "$image")" ]] || bah rmi "$old" || true
  remove_stage_containers "$image"
}

# buildah 1.28 leaves the working container of the last stage (a FROM of an
# earlier stage only) behind: those of the image just built go.
remove_stage_containers() {
  local id c
  id=$(bah images --noheading --no-trunc --format '{{.ID}}' "$1" | sed 's/^sha256://')
  for c in $(bah containers --noheading --format '{{.ContainerID}} {{.ImageID}}' | awk -v id="$id" '$2 == id { print $1 }'); do
    echo "removing the build's leftover container $c"
    bah rm "$c" >/dev/null
  done
}

run_in() {
  local ctr=$1
  shift
  bah run --isolation chroot "$ctr" -- "$@"
}

image_smoke() {
  local ctr=$1 series=$2 image=$3 major=${2%%.*} name
  run_in "$ctr" python -c 'import gc, sys; gc.freeze(); print("%s frozen: %d" % (sys.version.split()[0], gc.get_freeze_count())); assert gc.get_freeze_count() > 0'
  for name in python "python$major" "python$series" pip "pip$major" "pip$series" pydoc python-config; do
    run_in "$ctr" sh -c "command -v $name" || { echo "no $name on PATH"; return 1; }
  done
  run_in "$ctr" sh -c "[ \"\$(python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])')\" = $series ]"
  # the official images' CMD
  local want cmd
  want="[$(official_cmd "$series")]"
  cmd=$(bah inspect --type image --format '{{.OCIv1.Config.Cmd}}' "$image")
  [[ "$cmd" == "$want" ]] || { echo "CMD is $cmd, not $want"; return 1; }
}

# The modules of the official python:X.Y-slim images (built with the
# libraries of their build dependencies), by series; _tkinter is built but
# does not import there (no Tk libraries), so it is not listed.
official_modules() {
  local common='_bisect _codecs_cn _codecs_jp _csv _ctypes _curses _curses_panel
    _elementtree _hashlib _heapq _json _lsprof _multibytecodec _multiprocessing
    _random _socket _sqlite3 _ssl _struct array audioop binascii cmath fcntl grp
    math mmap nis ossaudiodev parser pyexpat readline resource select spwd
    syslog termios unicodedata zlib
    ctypes curses ensurepip hashlib json sqlite3 ssl uuid distutils.sysconfig'
  case $1 in
    2.*) echo "$common _bsddb bsddb bz2 cPickle cStringIO crypt datetime dbm gdbm
      future_builtins _io linuxaudiodev strop xml.etree.cElementTree" ;;
    *) echo "$common _bz2 _crypt _datetime _dbm _decimal _gdbm _lzma _md5 _opcode
      _pickle _posixsubprocess _sha1 _sha256 _sha512 bz2 crypt dbm.gnu dbm.ndbm
      decimal lzma venv xml.etree.ElementTree" ;;
  esac
  case $1 in 3.6) echo "_blake2 _sha3" ;; esac
}

# Every module of that list imports, and every extension module built in
# lib-dynload but _tkinter (its libraries are left out, as there).
image_modules() {
  local ctr=$1 series=$2
  # shellcheck disable=SC2046  # one argument a module
  run_in "$ctr" python -c '
import os, sys, sysconfig
from importlib import import_module
dynload = os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload")
built = sorted(set(f.split(".")[0] for f in os.listdir(dynload) if f.endswith(".so")))
bad = []
for name in sys.argv[1:] + [m for m in built if m != "_tkinter"]:
    try:
        import_module(name)
    except Exception as e:
        bad.append("%s: %s" % (name, e))
print("%d listed, %d in lib-dynload (_tkinter left out)" % (len(sys.argv) - 1, len(built)))
if bad:
    sys.exit("do not import:\n  " + "\n  ".join(bad))
' $(official_modules "$series")
}

image_pip() {
  local ctr=$1
  run_in "$ctr" pip --version
  run_in "$ctr" python -m pip --version
}

# write_packages DIR: two tiny local packages, one pure Python, one with a C
# extension (for 2.7 and 3.x alike).
write_packages() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir/pure" "$dir/cext"
  cat >"$dir/pure/setup.py" <<'EOF'
from setuptools import setup
setup(name="gcfreeze-pure", version="1.0", py_modules=["gcfreeze_pure"])
EOF
  echo 'ANSWER = 42' >"$dir/pure/gcfreeze_pure.py"
  cat >"$dir/cext/setup.py" <<'EOF'
from setuptools import setup, Extension
setup(name="gcfreeze-cext", version="1.0",
      ext_modules=[Extension("gcfreeze_cext", ["gcfreeze_cext.c"])])
EOF
  cat >"$dir/cext/gcfreeze_cext.c" <<'EOF'
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *args) { return Py_BuildValue("i", 42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "gcfreeze_cext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_gcfreeze_cext(void) { return PyModule_Create(&module); }
#else
PyMODINIT_FUNC initgcfreeze_cext(void) { Py_InitModule("gcfreeze_cext", methods); }
#endif
EOF
}

# pip install of a local pure-Python package, offline (--no-index).
image_pip_install() {
  local ctr=$1 pkgs=$2
  bah copy "$ctr" "$pkgs/pure" /tmp/pure >/dev/null
  run_in "$ctr" pip install --no-index --disable-pip-version-check /tmp/pure
  run_in "$ctr" sh -c 'cd / && python -c "import gcfreeze_pure; assert gcfreeze_pure.ANSWER == 42"'
  run_in "$ctr" pip uninstall -y gcfreeze-pure
}

# In a container of its own: gcc and libc6-dev from Debian, then pip install
# of a local package with a C extension, offline, with the image's headers
# and python-config.
image_c_extension() {
  local ctr=$1 pkgs=$2
  run_in "$ctr" python-config --includes
  run_in "$ctr" python -c 'import os, sysconfig; h = os.path.join(sysconfig.get_paths()["include"], "Python.h"); assert os.path.exists(h), h; print(h)'
  run_in "$ctr" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc libc6-dev'
  bah copy "$ctr" "$pkgs/cext" /tmp/cext >/dev/null
  run_in "$ctr" pip install --no-index --disable-pip-version-check /tmp/cext
  run_in "$ctr" sh -c 'cd / && python -c "import gcfreeze_cext; assert gcfreeze_cext.answer() == 42; print(gcfreeze_cext.__file__)"'
}

# Runtime libraries only: no compiler, no -dev package, no Tk or X11.
image_runtime_only() {
  local ctr=$1
  run_in "$ctr" sh -c '! command -v gcc && ! command -v cc && ! command -v make' || { echo "a compiler is installed"; return 1; }
  run_in "$ctr" sh -c "dpkg-query -W -f '\${Package}\n' | grep -E -- '-dev\$|^libtk|^libx11' && exit 1 || true"
  run_in "$ctr" sh -c "dpkg-query -W -f '\${Package}\n' | wc -l | sed 's/^/packages installed: /'"
}

# At most MAX_IMAGE_MB, as buildah measures it; what is in /usr/local too.
image_size_ok() {
  local ctr=$1 image=$2 mb
  mb=$(image_size_mb "$image")
  run_in "$ctr" du -sh /usr/local
  echo "$image: $(image_size "$image") ($mb MB; base $BASE_IMAGE $(image_size "$BASE_IMAGE"))"
  [[ $mb -le $MAX_IMAGE_MB ]] || { echo "over $MAX_IMAGE_MB MB"; return 1; }
}

image_lib_tests() {
  local ctr=$1
  bah copy "$ctr" "$TOP/Lib-tests" /Lib-tests >/dev/null
  # _tkinter's Tk libraries are left out of the image on purpose
  run_in "$ctr" sh -c 'rm -rf /Lib-tests/__pycache__ && cd /tmp && GCFREEZE_SKIP_EXTENSIONS=_tkinter python -m unittest discover -v -s /Lib-tests -p "test_*.py"'
}

test_version() {
  local series=$1 rel=$2 logs=$WORK/logs-$2-$SUITE image=$IMAGE_REPO:$1-slim-$SUITE ctr
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  check "sources/ for the build context" "$logs/sources.log" fill_sources "$rel"
  ok || return 0
  check "buildah bud $image (GCFREEZE_BUILD_FLAGS=$BUILD_FLAGS)" "$logs/build.log" build_image "$series" "$image"
  if ok; then
    write_packages "$logs/packages"
    ctr=$(bah from --quiet "$image")
    CONTAINERS+=("$ctr")
    check "image size at most $MAX_IMAGE_MB MB" "$logs/size.log" image_size_ok "$ctr" "$image"
    check "python -c 'import gc; gc.freeze()', the usual names" "$logs/smoke.log" image_smoke "$ctr" "$series" "$image"
    check "the official slim image's modules (all but _tkinter)" "$logs/modules.log" image_modules "$ctr" "$series"
    check "pip --version" "$logs/pip.log" image_pip "$ctr"
    check "runtime libraries only (no compiler, no -dev, no Tk)" "$logs/runtime.log" image_runtime_only "$ctr"
    check "pip install of a local package (offline)" "$logs/pip-install.log" image_pip_install "$ctr" "$logs/packages"
    check "Lib-tests (in the image)" "$logs/lib-tests.log" image_lib_tests "$ctr"
    bah rm "$ctr" >/dev/null
    ctr=$(bah from --quiet "$image")
    CONTAINERS+=("$ctr")
    check "gcc added: pip install of a local C extension (offline)" "$logs/c-extension.log" image_c_extension "$ctr" "$logs/packages"
    bah rm "$ctr" >/dev/null
    note "      $image: $(image_size "$image"), CMD $(bah inspect --type image --format '{{.OCIv1.Config.Cmd}}' "$image")"
    SUMMARY_NOTE="$image, $(image_size "$image")"
  fi
}

main() {
  [[ $(id -u) -eq 0 ]] || die "run as root: buildah with chroot isolation and vfs storage"
  while [[ $# -gt 0 ]]; do
    case $1 in
      --base)
        if [[ $# -lt 2 ]] || ! known_suite "$2"; then die "--base takes bullseye, bookworm or trixie" 2; fi
        SUITE=$2
        shift 2
        ;;
      --optimize) BUILD_FLAGS=--optimize && shift ;;
      *) break ;;
    esac
  done
  BASE_IMAGE=$(base_image_name "$SUITE")
  VERSION_TITLE="on $BASE_IMAGE"
  mkdir -p "$WORK"
  ensure_tools
  if [[ $BUILD_FLAGS == --optimize ]]; then
    say "the image as it ships: GCFREEZE_BUILD_FLAGS=--optimize (PGO+LTO, 15+ minutes a version)"
  else
    say "the quick build: GCFREEZE_BUILD_FLAGS=$BUILD_FLAGS (the image ships with --optimize, PGO+LTO; --optimize tests that)"
  fi
  ensure_base_image
  for_each_version test_version "$@"
  summary
}

main "$@"
