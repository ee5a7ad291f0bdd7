#!/usr/bin/env bash
# packaging/debian11/quilt-check.sh SRC PATCH... — run in the build root by
# packaging/debian11-rebuild.sh (patches step), with QUILT_PATCHES=debian/patches:
# debian/patches/series, made from series.in as debian/rules makes it, must
# end with our PATCHes; Debian's own patches are applied as debian/rules
# applies them (quilt, its default fuzz), then ours with --fuzz=0.  Offsets
# are listed, not refused: our patches are made against the pristine release
# (where ci/test.sh refuses offsets), and Debian's patches move lines under
# them; a patch whose context Debian changed gets a -deb11 variant.  The tree
# is left unpatched again for dpkg-buildpackage.
set -euo pipefail

# push_ours: quilt push -a --fuzz=0 (no fuzz), then the hunks of ours that
# applied at an offset (the hunk messages, not patch names: a fix may be
# named "...-offset").
push_ours() {
  local out
  out=$(quilt push -a --fuzz=0 2>&1) || {
    echo "$out"
    echo "our patches do not apply to Debian's patched tree with --fuzz=0: add a -deb11 variant (packaging/debian11/series)"
    return 1
  }
  echo "$out"
  if grep -Ei 'with fuzz' <<<"$out"; then
    echo "a hunk of ours applied with fuzz: add a -deb11 variant (packaging/debian11/series)"
    return 1
  fi
  echo "=== offsets (Debian's patches moved these lines):"
  grep -Ei 'succeeded at .*offset' <<<"$out" || echo "none"
}

main() {
  local src=$1 total last
  shift
  cd "$src"
  dpkg-parsechangelog -S Version
  debian/rules debian/patches/series
  total=$(wc -l <debian/patches/series)
  if [[ "$(tail -n $# debian/patches/series)" != "$(printf '%s\n' "$@")" ]]; then
    echo "debian/patches/series does not end with our patches:"
    cat debian/patches/series
    return 1
  fi
  last=$(sed -n "$((total - $#))p" debian/patches/series)
  echo "=== the $((total - $#)) Debian patches, applied as debian/rules does (quilt, default fuzz), up to $last"
  quilt push "$last"
  echo "=== our patches, quilt push --fuzz=0"
  push_ours
  echo "=== end of our patches"
  quilt pop -a -q
  rm -rf .pc debian/patches/series
}

main "$@"
