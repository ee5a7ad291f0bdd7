# ci/lib.sh — Debian chroots for the ci scripts (sourced by
# ci/test-packages.sh and ci/test-debian11.sh).
#
# debian_mirror       the Debian mirror this machine's apt uses
# make_root_tar SUITE TAR LOG
#                     debootstrap a minbase SUITE root from that mirror into
#                     the tarball TAR (written whole or not at all)
# fresh_root ROOT TAR a fresh copy of TAR at ROOT, with /proc, /dev and DNS;
#                     its mounts are recorded in MOUNTS
# in_root ROOT CMD... run CMD in ROOT with a clean environment (NAME=VALUE
#                     arguments before CMD are added to it)
# remove_root ROOT    unmount everything under ROOT, then remove it
# unmount_all         unmount every root fresh_root made (for trap ... EXIT)
# shellcheck shell=bash

CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
MOUNTS=()

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
  MOUNTS+=("$root")
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
}

in_root() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
