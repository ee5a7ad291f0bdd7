# packaging/chroot.sh — Debian roots made with debootstrap, for building
# (packaging/debian11-rebuild.sh) and for testing (ci/lib.sh sources it too).
#
# cached_root_tar SUITE
#                     the path of a minbase SUITE root tarball in ROOTFS_CACHE
#                     (GCFREEZE_ROOTFS_CACHE, default /var/cache/gcfreeze),
#                     debootstrapped once from the mirror this machine's apt
#                     uses (build.sh --debian-mirror), under a lock (scripts
#                     may run side by side), and reused; progress on stderr
# root_tar_path SUITE where cached_root_tar keeps it
# fresh_root ROOT TAR a fresh copy of TAR at ROOT, with /proc, /dev, DNS and
#                     apt retries; its mounts are recorded in MOUNTS
# in_root ROOT CMD... run CMD in ROOT with a clean environment (NAME=VALUE
#                     arguments before CMD are added to it)
# mount_root ROOT     /proc and /dev in ROOT (once; fresh_root does it)
# unmount_root ROOT   unmount everything under ROOT
# remove_root ROOT    unmount everything under ROOT, then remove it
# unmount_all         unmount every root fresh_root made (for trap ... EXIT)
# shellcheck shell=bash

CHROOT_BUILD_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build.sh
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOTFS_CACHE=${GCFREEZE_ROOTFS_CACHE:-/var/cache/gcfreeze}
MOUNTS=()

# The mirror debootstrap and the roots' apt use: the one this machine's apt
# uses, never a name written here.
debian_mirror() { "$CHROOT_BUILD_SH" --debian-mirror; }

# make_root_tar SUITE TAR LOG: debootstrap a minbase SUITE root (no package
# lists, no downloaded .debs, as in the official slim images) from that
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
      printf "==> %s\n" "debootstrap --variant=minbase $suite from $(debian_mirror) (once; cached in $tar)"
      make_root_tar "$suite" "$tar" "$ROOTFS_CACHE/debootstrap-$suite.log" || exit 1
      printf "==> %s\n" "$suite root cached ($(($(date +%s) - start))s, $(du -h "$tar" | cut -f1))"
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
# machine's DNS and hosts file.
fresh_root() {
  local root=$1 tar=$2
  remove_root "$root" || return 1
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xf "$tar"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # minbase has no /etc/hosts (a container gets one from its runtime): without
  # it 'localhost' does not resolve, and 2.7's profile run hangs in
  # test_logging, test_httpservers and test_xmlrpc
  cp -L /etc/hosts "$root/etc/hosts"
  # a mirror that times out once in a while must not fail a long run
  echo 'Acquire::Retries "5";' >"$root/etc/apt/apt.conf.d/80gcfreeze-retries"
  mount_root "$root"
}

# /proc and /dev in ROOT, unless they are mounted already.
mount_root() {
  local root=$1
  MOUNTS+=("$root")
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  if ! mountpoint -q "$root/dev"; then
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
  fi
}

in_root() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
