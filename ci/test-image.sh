#!/usr/bin/env bash
# ci/test-image.sh [VERSION...] — build the Dockerfile for each version whose
# source can be had, for real, with buildah (chroot isolation, vfs storage),
# on a local Debian 12 slim base made with debootstrap, and test the image:
# gc.freeze(), pip, the official images' names, no compiler or -dev package,
# and the Lib-tests.  Prints each image's size and ends with
# "N passed, N failed, N skipped".  Needs root.
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
BASE_IMAGE=localhost/debian:bookworm-slim
IMAGE_REPO=localhost/python-gcfreeze
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
  command -v buildah >/dev/null 2>&1 || install_tools "$WORK/apt-buildah.log" buildah
}

# The base image: the cached debootstrap minbase root of ci/test-packages.sh
# (made from the mirror this machine's apt uses), imported once.
ensure_base_image() {
  local tar ctr start
  if bah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    note "base image $BASE_IMAGE: reused"
    return 0
  fi
  start=$(date +%s)
  tar=$("$TOP/ci/test-packages.sh" --bookworm-root)
  ctr=$(bah from scratch)
  CONTAINERS+=("$ctr")
  bah add "$ctr" "$tar" / >/dev/null
  bah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  bah commit --quiet "$ctr" "$BASE_IMAGE" >/dev/null
  bah rm "$ctr" >/dev/null
  note "base image $BASE_IMAGE: imported from $tar ($(($(date +%s) - start))s)"
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
    -t "$image" -f "$TOP/Dockerfile" "$TOP"
  [[ -z "$old" || "$old" == "$(bah images --noheading --format '{{.ID}}' "$image")" ]] || bah rmi "$old" || true
}

run_in() {
  local ctr=$1
  shift
  bah run --isolation chroot "$ctr" -- "$@"
}

image_smoke() {
  local ctr=$1 series=$2 major=${2%%.*} name
  run_in "$ctr" python -c 'import gc, sys; gc.freeze(); print("%s frozen: %d" % (sys.version.split()[0], gc.get_freeze_count())); assert gc.get_freeze_count() > 0'
  for name in python "python$major" "python$series" pip "pip$major" "pip$series" pydoc python-config; do
    run_in "$ctr" sh -c "command -v $name" || { echo "no $name on PATH"; return 1; }
  done
  run_in "$ctr" sh -c "[ \"\$(python -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])')\" = $series ]"
  # the official images' CMD
  local want cmd
  want="[$(official_cmd "$series")]"
  cmd=$(bah inspect --type image --format '{{.OCIv1.Config.Cmd}}' "$IMAGE_REPO:$series")
  [[ "$cmd" == "$want" ]] || { echo "CMD is $cmd, not $want"; return 1; }
}

image_pip() {
  local ctr=$1
  run_in "$ctr" pip --version
  run_in "$ctr" python -m pip --version
}

# Runtime libraries only: no compiler, no -dev package, no headers but Python's.
image_runtime_only() {
  local ctr=$1
  run_in "$ctr" sh -c '! command -v gcc && ! command -v cc && ! command -v make' || { echo "a compiler is installed"; return 1; }
  run_in "$ctr" sh -c "dpkg-query -W -f '\${Package}\n' | grep -E -- '-dev\$' && exit 1 || true"
  run_in "$ctr" sh -c "dpkg-query -W -f '\${Package}\n' | wc -l | sed 's/^/packages installed: /'"
}

image_lib_tests() {
  local ctr=$1
  bah copy "$ctr" "$TOP/Lib-tests" /Lib-tests >/dev/null
  run_in "$ctr" sh -c 'rm -rf /Lib-tests/__pycache__ && cd /tmp && python -m unittest discover -v -s /Lib-tests -p "test_*.py"'
}

test_version() {
  local series=$1 rel=$2 logs=$WORK/logs-$2 image=$IMAGE_REPO:$1 ctr
  VERSION_LOGS=$logs
  mkdir -p "$logs"
  check "sources/ for the build context" "$logs/sources.log" fill_sources "$rel"
  ok || return 0
  check "buildah bud $image" "$logs/build.log" build_image "$series" "$image"
  if ok; then
    ctr=$(bah from --quiet "$image")
    CONTAINERS+=("$ctr")
    check "python -c 'import gc; gc.freeze()', the usual names" "$logs/smoke.log" image_smoke "$ctr" "$series"
    check "pip --version" "$logs/pip.log" image_pip "$ctr"
    check "runtime libraries only (no compiler, no -dev)" "$logs/runtime.log" image_runtime_only "$ctr"
    check "Lib-tests (in the image)" "$logs/lib-tests.log" image_lib_tests "$ctr"
    bah rm "$ctr" >/dev/null
    note "      $image: $(bah images --noheading --format '{{.Size}}' "$image"), CMD $(bah inspect --type image --format '{{.OCIv1.Config.Cmd}}' "$image")"
    SUMMARY_NOTE="$image, $(bah images --noheading --format '{{.Size}}' "$image")"
  fi
}

main() {
  [[ $(id -u) -eq 0 ]] || die "run as root: buildah with chroot isolation and vfs storage"
  mkdir -p "$WORK"
  ensure_tools
  ensure_base_image
  for_each_version test_version "$@"
  summary
}

main "$@"
