# ci/lib.sh — what the ci scripts share: counted checks, and Debian chroots
# (sourced by ci/test.sh, ci/debug-checks.sh, ci/test-packages.sh,
# ci/test-image.sh and ci/test-debian11.sh).
#
# say, note           a heading line, an indented line
# die MESSAGE         "ci/SCRIPT: error: MESSAGE" on stderr, exit 1
# check NAME LOG CMD...
#                     one counted check (PASSED or FAILED; on failure also
#                     VERSION_OK=0): CMD runs with errexit of its own and its
#                     output in LOG, one line with the duration, the log's
#                     tail on failure; LAST_SECONDS is its duration.  Call it
#                     as a command of its own, never in "if", "||" or "&&":
#                     there bash ignores errexit in everything it runs, the
#                     subshell too, and a failing step would pass unseen.
#                     It returns 0; ok tells whether the check passed.
# ok                  whether the last check passed
# install_tools LOG PKG...
#                     apt-get install PKG... (as root), the log's tail and
#                     die when that fails
# debian_mirror       the Debian mirror this machine's apt uses
# cached_root_tar SUITE
#                     the path of a minbase SUITE root tarball in ROOTFS_CACHE
#                     (GCFREEZE_ROOTFS_CACHE, default /var/cache/gcfreeze),
#                     debootstrapped once from that mirror, under a lock (the
#                     ci scripts may run side by side), and reused; progress
#                     on stderr
# root_tar_path SUITE where cached_root_tar keeps it
# fresh_root ROOT TAR a fresh copy of TAR at ROOT, with /proc, /dev, DNS and
#                     apt retries;
#                     its mounts are recorded in MOUNTS
# in_root ROOT CMD... run CMD in ROOT with a clean environment (NAME=VALUE
#                     arguments before CMD are added to it)
# remove_root ROOT    unmount everything under ROOT, then remove it
# lib_tests_in_root ROOT PYTHON
#                     the Lib-tests under PYTHON in ROOT, from a clean copy at
#                     ROOT/Lib-tests (no byte code of the host's interpreters)
# unmount_all         unmount every root fresh_root made (for trap ... EXIT)
# shellcheck shell=bash

CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOTFS_CACHE=${GCFREEZE_ROOTFS_CACHE:-/var/cache/gcfreeze}
MOUNTS=()
PASSED=0 FAILED=0
# shellcheck disable=SC2034  # read by the scripts that source this
VERSION_OK=1 LAST_SECONDS=0 CHECK_OK=1

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf 'ci/%s: error: %s\n' "${0##*/}" "$1" >&2
  exit 1
}

# shellcheck disable=SC2034  # VERSION_OK is read by the scripts that source this
check() {
  local name=$1 log=$2 start rc
  shift 2
  start=$(date +%s)
  # a subshell with errexit of its own: a failing command ends the check
  set +e
  (set -e; "$@") >"$log" 2>&1
  rc=$?
  set -e
  LAST_SECONDS=$(($(date +%s) - start))
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1)) CHECK_OK=1
    note "ok    $name (${LAST_SECONDS}s)"
  else
    FAILED=$((FAILED + 1)) CHECK_OK=0 VERSION_OK=0
    note "FAIL  $name (${LAST_SECONDS}s) — last lines of $log:"
    tail -n 25 "$log" | sed 's/^/        /'
  fi
}

ok() { [[ $CHECK_OK -eq 1 ]]; }

install_tools() {
  local log=$1
  shift
  [[ $(id -u) -eq 0 ]] || die "missing tools: sudo apt-get install $*"
  say "installing $*"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } \
    >"$log" 2>&1 || { tail -n 20 "$log"; die "apt-get could not install $*"; }
}

# The Debian mirror this machine's apt uses (deb822 URIs, or a one-line entry).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [[ -r "$f" ]] || continue
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }
      /^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { print $i; break } }' "$f"
  done | grep -m1 -E '/debian/?$' || true
}

# make_root_tar SUITE TAR LOG: debootstrap --variant=minbase SUITE from the
# mirror apt uses, without package lists or downloaded .debs (as in the
# official slim images), into TAR; its output goes to LOG.
# make_root_tar SUITE TAR LOG: debootstrap a minbase SUITE root from that
# mirror into the tarball TAR (written whole or not at all).
make_root_tar() {
  local suite=$1 tar=$2 log=$3 mirror dir=$2.d.part
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || { echo "no Debian mirror in /etc/apt: cannot debootstrap" >&2; return 1; }
  mkdir -p "$(dirname "$tar")"
  rm -rf --one-file-system "$dir"
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "debootstrap $suite failed (log: $log)" >&2; return 1; }
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
  tar -C "$dir" --numeric-owner -cf "$tar.part" .
  mv "$tar.part" "$tar"
  rm -rf --one-file-system "$dir"
}

root_tar_path() { echo "$ROOTFS_CACHE/$1-minbase.tar"; }

cached_root_tar() {
  local suite=$1 tar
  tar=$(root_tar_path "$suite")
  mkdir -p "$ROOTFS_CACHE"
  (
    flock 9
    if [[ ! -s "$tar" ]]; then
      start=$(date +%s)
      say "debootstrap --variant=minbase $suite from $(debian_mirror) (once; cached in $tar)"
      make_root_tar "$suite" "$tar" "$ROOTFS_CACHE/debootstrap-$suite.log" || exit 1
      say "$suite root cached ($(($(date +%s) - start))s, $(du -h "$tar" | cut -f1))"
    fi
  ) 9>"$tar.lock" >&2 || return 1
  echo "$tar"
}

mounted_under() { awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts; }

unmount_root() {
  local root=$1 m
  while read -r m; do
    umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(mounted_under "$root" | sort -r)
}

# Remove a chroot only when nothing is mounted in it any more.
remove_root() {
  local root=$1
  [[ -e "$root" ]] || return 0
  unmount_root "$root"
  if [[ -n "$(mounted_under "$root")" ]]; then
    echo "$root still has mounts: $(mounted_under "$root" | tr '\n' ' ')" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}

unmount_all() {
  local m
  for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do unmount_root "$m"; done
}

# A fresh copy of the root tarball TAR at ROOT with /proc and /dev, and this
# machine's DNS.
fresh_root() {
  local root=$1 tar=$2
  remove_root "$root" || return 1
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xf "$tar"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # a mirror that times out once in a while must not fail a long run
  echo 'Acquire::Retries "5";' >"$root/etc/apt/apt.conf.d/80gcfreeze-retries"
  MOUNTS+=("$root")
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
}

lib_tests_in_root() {
  local root=$1 python=$2
  rm -rf "$root/Lib-tests"
  cp -a "$TOP/Lib-tests" "$root/Lib-tests"
  rm -rf "$root/Lib-tests/__pycache__"
  find "$root/Lib-tests" -name '*.pyc' -delete
  in_root "$root" sh -c "cd /tmp && $python -m unittest discover -v -s /Lib-tests -p 'test_*.py'"
}

in_root() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
