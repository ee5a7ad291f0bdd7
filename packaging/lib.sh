# packaging/lib.sh — shared by packaging/deb.sh and packaging/rpm.sh (sourced).
#
# Both are called by build.sh --package as
#   packaging/FORMAT.sh STAGE PREFIX RELEASE SERIES OUTDIR
# STAGE holds STAGE/PREFIX/... (make install DESTDIR=STAGE); OUTDIR is absolute.
# Each writes one file to OUTDIR and records it in OUTDIR/manifest.txt
# (record_output), which is how build.sh and its callers learn its name.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are used by the scripts that source it

# The package revision: bump it to rebuild the same release with other contents.
PKG_REVISION=${GCFREEZE_PKG_REVISION:-1}
PKG_MAINTAINER=${GCFREEZE_PKG_MAINTAINER:-gcfreeze maintainers <gcfreeze@localhost>}
PKG_SUMMARY="CPython with gc.freeze() backported from 3.7"

say() { printf '==> %s\n' "$*"; }
die() {
  printf '%s: error: %s\n' "$(basename "$0")" "$1" >&2
  exit 1
}

# step LABEL COMMAND...: run COMMAND, print one line with its duration.
step() {
  local label=$1 start
  shift
  start=$(date +%s)
  "$@"
  say "$label ($(($(date +%s) - start))s)"
}

# Set STAGE PREFIX REL SERIES OUTDIR PKG_NAME ROOT_PREFIX LINK from the arguments.
parse_package_args() {
  [[ $# -eq 5 ]] || die "usage: $(basename "$0") STAGE PREFIX RELEASE SERIES OUTDIR"
  STAGE=${1%/} PREFIX=${2%/} REL=$3 SERIES=$4 OUTDIR=$5
  [[ "$PREFIX" == /* ]] || die "PREFIX must be absolute: $PREFIX"
  [[ "$OUTDIR" == /* ]] || die "OUTDIR must be absolute: $OUTDIR"
  [[ "$SERIES" =~ ^[0-9]+\.[0-9]+$ ]] || die "SERIES must look like 3.6: $SERIES"
  [[ "$REL" == "$SERIES".* ]] || die "RELEASE $REL is not of series $SERIES"
  ROOT_PREFIX=$STAGE$PREFIX
  [[ -x "$ROOT_PREFIX/bin/python$SERIES" ]] || die "$ROOT_PREFIX/bin/python$SERIES is missing: not a staged install"
  check_stage_layout
  PKG_NAME=python$SERIES-gcfreeze
  LINK=/usr/bin/python$SERIES-gcfreeze
  mkdir -p "$OUTDIR"
}

# The package owns its prefix and one name on PATH; the distro's python
# (/usr/bin/python*) is never shipped or replaced.
check_stage_layout() {
  local extra
  extra=$(cd "$STAGE" && find . -mindepth 1 \( -path ".$PREFIX" -prune \) -o \( -type f -o -type l \) -print | head -n 5)
  [[ -z "$extra" ]] || die "the stage has files outside $PREFIX: $extra"
  case $PREFIX in
    /usr | /usr/bin | /bin) die "PREFIX $PREFIX would replace the system python: use /opt/gcfreeze/python$SERIES" ;;
  esac
}

# is_elf FILE: true for an ELF object (executable or shared library).
is_elf() {
  [[ -f "$1" && ! -L "$1" ]] || return 1
  [[ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' \n')" == 7f454c46 ]]
}

# The ELF executables and shared objects under a directory, one per line.
elf_files() {
  local f
  while IFS= read -r -d '' f; do
    is_elf "$f" && printf '%s\n' "$f"
  done < <(find "$1" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print0)
}

# The description shared by both formats.
description_body() {
  cat <<EOF
CPython $REL with gc.freeze(), gc.unfreeze() and gc.get_freeze_count()
backported from CPython 3.7 (bpo-31558): forked workers keep the parent's
heap pages shared. Installed under $PREFIX, with $LINK on PATH;
the distribution's python is left untouched.
EOF
}

# record_output FORMAT PACKAGE FILE: the line "FORMAT SERIES RELEASE PACKAGE
# FILE" in OUTDIR/manifest.txt, in place of an earlier build's line of the
# same format, release and package (under a lock: builds may share OUTDIR).
record_output() {
  local format=$1 package=$2 file=$3 manifest=$OUTDIR/manifest.txt
  (
    flock 8
    {
      [[ ! -f "$manifest" ]] || awk -v f="$format" -v r="$REL" -v p="$package" '!($1 == f && $3 == r && $4 == p)' "$manifest"
      printf '%s %s %s %s %s\n' "$format" "$SERIES" "$REL" "$package" "$file"
    } >"$manifest.part"
    mv "$manifest.part" "$manifest"
  ) 8<"$OUTDIR"
}
