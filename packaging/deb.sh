#!/usr/bin/env bash
# packaging/deb.sh STAGE PREFIX RELEASE SERIES OUTDIR — called by
# `build.sh --package deb`: turn a staged install into OUTDIR/pythonX.Y-gcfreeze_<REL>-gcfreezeN_<arch>.deb.
#
# The package owns PREFIX (/opt/gcfreeze/pythonX.Y) and /usr/bin/pythonX.Y-gcfreeze
# (a symlink to PREFIX/bin/pythonX.Y); Depends comes from dpkg-shlibdeps.  The
# stage already holds the compiled byte-code of the whole library (make install
# compiles it), so importing as root writes nothing under PREFIX; a postrm
# removes, on purge, what was added to the prefix afterwards (pip installs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=packaging/lib.sh
. "$HERE/lib.sh"

DEB_COMPRESS=${GCFREEZE_DEB_COMPRESS:-xz}

ensure_dpkg_dev() {
  command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is missing: not a Debian system"
  command -v dpkg-shlibdeps >/dev/null 2>&1 && return 0
  [[ $(id -u) -eq 0 ]] || die "dpkg-shlibdeps is missing: sudo apt-get install dpkg-dev"
  say "installing dpkg-dev"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dpkg-dev; } ||
    die "apt-get could not install dpkg-dev"
}

# The package tree: a copy of the stage (hard links when on the same file
# system), the name on PATH, and the copyright file.
make_tree() {
  mkdir -p "$ROOT"
  cp -al "$STAGE/." "$ROOT/" 2>/dev/null || { rm -rf "$ROOT" && mkdir -p "$ROOT" && cp -a "$STAGE/." "$ROOT/"; }
  mkdir -p "$ROOT/usr/bin" "$ROOT/usr/share/doc/$PKG_NAME"
  ln -s "$PREFIX/bin/python$SERIES" "$ROOT$LINK"
  {
    echo "Python $REL with the gcfreeze patch series."
    echo "The Python license follows."
    echo
    cat "$ROOT$PREFIX/lib/python$SERIES/LICENSE.txt" 2>/dev/null || echo "See https://docs.python.org/$SERIES/license.html"
  } >"$ROOT/usr/share/doc/$PKG_NAME/copyright"
}

# dpkg-shlibdeps wants a source package around the tree: debian/control with
# this binary package.  Libraries the package ships itself (libpythonX.Y)
# are found in the tree (-S) and need no dependency.
compute_depends() {
  local files=() out
  mkdir -p "$WORK/debian"
  cat >"$WORK/debian/control" <<EOF
Source: $PKG_NAME
Maintainer: $PKG_MAINTAINER

Package: $PKG_NAME
Architecture: any
Description: $PKG_SUMMARY
EOF
  # paths relative to WORK: dpkg-shlibdeps wants them in debian/PACKAGE/
  mapfile -t files < <(cd "$WORK" && elf_files "debian/$PKG_NAME$PREFIX")
  [[ ${#files[@]} -gt 0 ]] || die "no ELF file in $ROOT$PREFIX"
  out=$(cd "$WORK" && dpkg-shlibdeps -O -S"$ROOT" -l"$ROOT$PREFIX/lib" "${files[@]}")
  DEPENDS=$(sed -n 's/^shlibs:Depends=//p' <<<"$out")
  [[ -n "$DEPENDS" ]] || die "dpkg-shlibdeps found no dependency: $out"
  echo "Depends: $DEPENDS"
}

# On purge, the prefix goes, including what was added to it after install
# (pip installs into site-packages, byte-code of added modules).  Only a
# prefix of our own (/opt/gcfreeze/...) is removed whole.
write_postrm() {
  cat >"$ROOT/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
prefix='$PREFIX'
if [ "\$1" = purge ]; then
  case \$prefix in
    /opt/gcfreeze/?*) rm -rf "\$prefix"; rmdir /opt/gcfreeze 2>/dev/null || true ;;
    *) rm -rf "\$prefix/lib/python$SERIES" ;;
  esac
fi
exit 0
EOF
  chmod 0755 "$ROOT/DEBIAN/postrm"
}

write_control() {
  local arch size
  arch=$(dpkg --print-architecture)
  size=$(du -sk --exclude=DEBIAN "$ROOT" | awk '{ print $1 }')
  mkdir -p "$ROOT/DEBIAN"
  {
    echo "Package: $PKG_NAME"
    echo "Version: $VERSION"
    echo "Architecture: $arch"
    echo "Maintainer: $PKG_MAINTAINER"
    echo "Installed-Size: $size"
    echo "Depends: $DEPENDS"
    echo "Recommends: ca-certificates"
    echo "Section: interpreters"
    echo "Priority: optional"
    echo "Description: $PKG_SUMMARY"
    description_body | sed 's/^/ /'
  } >"$ROOT/DEBIAN/control"
  (cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's|  \./|  |') >"$ROOT/DEBIAN/md5sums"
  write_postrm
  DEB_FILE=$OUTDIR/${PKG_NAME}_${VERSION}_$arch.deb
}

build_deb() {
  rm -f "$DEB_FILE"
  dpkg-deb --root-owner-group -Z"$DEB_COMPRESS" --build "$ROOT" "$DEB_FILE.part" >/dev/null
  mv "$DEB_FILE.part" "$DEB_FILE"
}

# Nothing on PATH but our own name: no /usr/bin/python*, nothing else in /usr.
check_deb() {
  local bad
  bad=$(dpkg-deb --fsys-tarfile "$DEB_FILE" | tar -t | grep -E '^\./usr/' | grep -vF "./${PREFIX#/}/" |
    grep -vxE "\./usr/(bin|share|share/doc)?/?|\./usr/share/doc/$PKG_NAME/(copyright)?|\.$LINK" || true)
  [[ -z "$bad" ]] || die "the package ships files outside $PREFIX: $bad"
}

main() {
  parse_package_args "$@"
  VERSION=$REL-gcfreeze$PKG_REVISION
  ensure_dpkg_dev
  WORK=$(mktemp -d "$(dirname "$STAGE")/deb-$PKG_NAME.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  ROOT=$WORK/debian/$PKG_NAME
  step "tree: $PREFIX and $LINK" make_tree
  step "dependencies (dpkg-shlibdeps)" compute_depends
  step "control, md5sums, postrm" write_control
  step "dpkg-deb ($DEB_COMPRESS)" build_deb
  check_deb
  echo "wrote $DEB_FILE ($(du -h "$DEB_FILE" | cut -f1))"
  record_output deb "$PKG_NAME" "$DEB_FILE"
}

main "$@"
