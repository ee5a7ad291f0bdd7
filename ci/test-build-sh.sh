#!/usr/bin/env bash
# ci/test-build-sh.sh — build.sh under bad input.  Each case checks the exit
# status, that the message names the fix, and that nothing half-done is left.
# Cases that need a real source tree use 2.7.18's when it can be had.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
WORK=${GCFREEZE_CI_DIR:-/tmp/gcfreeze-ci}/build-sh

# run_case NAME FUNCTION: one counted case (check in ci/lib.sh; FUNCTION may
# skip REASON).
run_case() { check "$1" "$WORK/$2.log" "$2"; }

# expect STATUS PATTERN COMMAND...: COMMAND exits with STATUS and its output
# matches the extended regular expression PATTERN.
expect() {
  local want=$1 pattern=$2 rc=0 out
  shift 2
  out=$("$@" 2>&1) || rc=$?
  printf '%s\n' "$out"
  [[ $rc -eq $want ]] || { echo "expected exit $want, got $rc"; return 1; }
  grep -Eq -- "$pattern" <<<"$out" || { echo "output does not match: $pattern"; return 1; }
}

# A copy of the project whose patches a case may break.
project_copy() {
  local dest=$WORK/project-$1
  rm -rf "$dest" && mkdir -p "$dest"
  cp -a "$TOP/build.sh" "$TOP/versions.txt" "$TOP/patches" "$dest/"
  echo "$dest"
}

# A tree that looks like the 2.7.18 release but holds none of its files.
fake_tree() {
  local dest=$WORK/fake-$1
  rm -rf "$dest" && mkdir -p "$dest/Include" "$dest/Modules"
  printf '#define PY_VERSION      \t"%s"\n' "${2:-2.7.18}" >"$dest/Include/patchlevel.h"
  printf 'static int unrelated;\n' >"$dest/Modules/gcmodule.c"
  echo "$dest"
}

# The 2.7 line of build.sh --list: "SERIES RELEASE DEBIAN-SOURCE".
read -r S27 R27 _ < <("$BUILD_SH" --list 2.7)
TARBALL_27=$("$BUILD_SH" --print-cache)/Python-$R27.tgz

real_tree_27() {
  local tarball=$TARBALL_27
  [[ -f "$tarball" ]] || return 1
  rm -rf "$WORK/real-2.7.18" && mkdir -p "$WORK/real-2.7.18"
  tar -xzf "$tarball" -C "$WORK/real-2.7.18" --strip-components=1
  echo "$WORK/real-2.7.18"
}

case_unknown_version() {
  expect 2 "unknown version '2.8': choose from $("$BUILD_SH" --list | awk '{ printf "%s%s", s, $1; s = " " }') or all" "$TOP/build.sh" --fetch-only 2.8
  expect 2 "unknown option --frobnicate" "$TOP/build.sh" --frobnicate 2.7
  expect 2 "--source goes with exactly one VERSION" "$TOP/build.sh" --source /tmp 2.7 3.6
}

case_bad_tarball() {
  local cache=$WORK/cache-bad build=$WORK/b-bad
  rm -rf "$cache" "$build" && mkdir -p "$cache"
  # truncated: a few bytes of gzip header
  printf '\037\213\010\000' >"$cache/Python-2.7.18.tgz"
  expect 1 "does not match the pinned sha256.*was removed" \
    "$TOP/build.sh" --cache "$cache" --build-dir "$build" --prefix "$WORK/prefix-bad" --no-deps 2.7
  [[ ! -e "$cache/Python-2.7.18.tgz" ]] || { echo "the bad tarball was kept"; return 1; }
  [[ ! -e "$build/Python-2.7.18-gcfreeze" && ! -e "$WORK/prefix-bad/bin" ]] || { echo "something was built"; return 1; }
}

case_series_does_not_apply() {
  local project tree out
  project=$(project_copy stale)
  tree=$(fake_tree stale)
  # the freeze series (the compat and security series would stop first: no
  # setup.py, no Lib/ here)
  expect 1 "patches/2.7/gc-freeze.patch no longer applies to Modules/gcmodule.c" \
    "$project/build.sh" --no-compat --no-security --source "$tree" --build-dir "$WORK/b-stale" --prefix "$WORK/prefix-stale" --no-deps 2.7
  # a file the series patches is missing: named as such
  expect 1 "patches/2.7/compat/[a-z0-9-]+\.patch no longer applies to [A-Za-z/_.]+ \(no such file in the tree\)" \
    "$project/build.sh" --source "$tree" --build-dir "$WORK/b-stale" --prefix "$WORK/prefix-stale" --no-deps 2.7
  [[ ! -e "$WORK/b-stale/Python-2.7.18-gcfreeze" && ! -e "$WORK/b-stale/Python-2.7.18-gcfreeze.part" ]] ||
    { echo "a half-patched tree was left"; return 1; }
  [[ "$(cat "$tree/Modules/gcmodule.c")" == 'static int unrelated;' ]] || { echo "the user's tree was modified"; return 1; }
}

case_partly_patched_tree() {
  local tree
  tree=$(real_tree_27) || skip "no 2.7.18 tarball in the cache"
  patch -d "$tree" -p1 -s <"$TOP/patches/2.7/gc-freeze.patch"
  expect 1 "already contains patches/2.7/gc-freeze.patch: bring the pristine release" \
    "$TOP/build.sh" --source "$tree" --build-dir "$WORK/b-partly" --prefix "$WORK/prefix-partly" --no-deps 2.7
  [[ ! -e "$WORK/b-partly/Python-2.7.18-gcfreeze" ]] || { echo "a tree was prepared"; return 1; }
}

case_wrong_version_tree() {
  local tree
  tree=$(fake_tree wrong 3.6.15)
  expect 1 "holds Python 3.6.15, not 2.7.18" \
    "$TOP/build.sh" --source "$tree" --build-dir "$WORK/b-wrong" --prefix "$WORK/prefix-wrong" --no-deps 2.7
}

case_unwritable_prefix() {
  command -v setpriv >/dev/null || skip "setpriv is missing"
  [[ $(id -u) -eq 0 ]] || skip "needs root to switch to an unprivileged user"
  local copy
  copy=$(project_copy nobody)
  chmod -R a+rX "$WORK"
  expect 1 "cannot write to /usr/local/gcfreeze-test .*pass --prefix" \
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp \
    "$copy/build.sh" --build-dir /tmp/gcfreeze-nobody --prefix /usr/local/gcfreeze-test --no-deps 2.7
  [[ ! -e /usr/local/gcfreeze-test ]] || { echo "the prefix was created"; return 1; }
}

case_missing_deps_not_root() {
  command -v setpriv >/dev/null || skip "setpriv is missing"
  [[ $(id -u) -eq 0 ]] || skip "needs root to switch to an unprivileged user"
  # A dpkg-query that reports libssl-dev as not installed.
  local shim=$WORK/shim
  mkdir -p "$shim"
  cat >"$shim/dpkg-query" <<'EOF'
#!/bin/sh
for last; do :; done
[ "$last" = libssl-dev ] && exit 1
exec /usr/bin/dpkg-query "$@"
EOF
  chmod a+rx "$shim/dpkg-query"
  local copy
  copy=$(project_copy deps)
  chmod -R a+rX "$WORK"
  expect 1 "run:  sudo apt-get install -y libssl-dev" \
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp PATH="$shim:$PATH" \
    "$copy/build.sh" --build-dir /tmp/gcfreeze-nobody --prefix /tmp/gcfreeze-nobody-prefix 2.7
}

# wait_for_step LOG PROC: wait until build.sh starts the step that writes LOG.
wait_for_step() {
  local _
  for _ in $(seq 600); do
    [[ ! -s "$1" ]] || return 0
    kill -0 "$2" 2>/dev/null || { echo "build.sh ended before $1 appeared"; return 1; }
    sleep 1
  done
  return 1
}

# Interrupt build.sh (SIGTERM to its process group: a background job here
# ignores SIGINT, and a CI timeout or "docker stop" sends TERM) while it
# runs STEP; then the prefix holds no interpreter and the rerun recovers.
interrupt_then_rerun() {
  local step=$1 tarball=$2 build=$WORK/b-int prefix=$WORK/prefix-int pid
  rm -rf "$prefix" "$build/logs"
  [[ $step != make ]] || rm -rf "$build"
  setsid "$TOP/build.sh" --cache "$(dirname "$tarball")" --build-dir "$build" --prefix "$prefix" --no-test 2.7 &
  pid=$!
  wait_for_step "$build/logs/Python-2.7.18-gcfreeze/$step.log" "$pid"
  sleep 3
  kill -TERM -- "-$pid"
  local rc=0
  wait "$pid" || rc=$?
  echo "interrupted during $step: exit $rc"
  [[ $rc -ne 0 ]] || { echo "build.sh was not interrupted"; return 1; }
  [[ ! -e "$prefix/bin/python2.7" ]] || { echo "an interpreter is in the prefix after the interrupt"; return 1; }
  [[ -z "$(find "$prefix" -maxdepth 1 -name '.gcfreeze-stage-*' 2>/dev/null)" ]] || { echo "a stage was left in the prefix"; return 1; }
  [[ ! -e "$build/Python-2.7.18-gcfreeze/.gcfreeze-built" ]] || [[ $step != make ]] || { echo "an unfinished tree is marked built"; return 1; }
  "$TOP/build.sh" --cache "$(dirname "$tarball")" --build-dir "$build" --prefix "$prefix" --no-test 2.7
  "$prefix/bin/python2.7" -c 'import gc; gc.freeze(); assert gc.get_freeze_count() > 0'
  echo "the rerun recovered"
}

case_interrupted_make() {
  local tarball=$TARBALL_27
  [[ -f "$tarball" ]] || skip "no $R27 tarball in the cache"
  interrupt_then_rerun make "$tarball"
}

case_interrupted_install() {
  local tarball=$TARBALL_27
  [[ -f "$tarball" ]] || skip "no $R27 tarball in the cache"
  # the tree the previous case built is reused: this costs only the install
  interrupt_then_rerun stage "$tarball"
}

# --- build.sh's interfaces ----------------------------------------------------

# build.sh --list on a versions.txt of our own: comments and blank lines
# skipped, a line without a Debian source package shows -, order kept.
case_list() {
  local project
  project=$(project_copy list)
  cat >"$project/versions.txt" <<'EOF'
# series release sha256 url debsrc

2.6       2.6.9    aaaa  file:///nonexistent/Python-2.6.9.tgz
3.9       3.9.1    bbbb  file:///nonexistent/Python-3.9.1.tgz  bookworm:python3.9=3.9.1-1
EOF
  [[ "$("$project/build.sh" --list)" == $'2.6 2.6.9 -\n3.9 3.9.1 bookworm:python3.9=3.9.1-1' ]] ||
    { echo "--list: not the two releases"; "$project/build.sh" --list; return 1; }
  [[ "$("$project/build.sh" --list 3.9.1 2.6)" == $'3.9 3.9.1 bookworm:python3.9=3.9.1-1\n2.6 2.6.9 -' ]] ||
    { echo "--list VERSION...: not the lines asked for, in that order"; return 1; }
  expect 2 "unknown version '2.7': choose from 2.6 3.9 or all" "$project/build.sh" --list 2.7
  # the real list: one line per release, the release of its series
  "$BUILD_SH" --list | awk 'NF != 3 || index($2, $1 ".") != 1 { print "bad line: " $0; bad = 1 } END { exit bad }'
}

# --print-tree names the tree build.sh builds in; the exit statuses are
# named in --help, and a release with no source exits with EXIT_NO_SOURCE.
case_tree_and_exit_codes() {
  local project got
  got=$("$BUILD_SH" --print-tree --stock --debug --build-dir /b "$S27")
  [[ "$got" == "/b/Python-$R27-stock-debug" ]] || { echo "--print-tree --stock --debug: $got"; return 1; }
  got=$("$BUILD_SH" --print-tree --build-dir /b "$R27")
  [[ "$got" == "/b/Python-$R27-gcfreeze" ]] || { echo "--print-tree: $got"; return 1; }
  expect 2 "--print-tree takes one VERSION" "$BUILD_SH" --print-tree "$S27" "$R27"
  local code name
  while read -r code name; do
    "$BUILD_SH" --help | grep -E "^ +$code +$name " || { echo "--help does not name $code $name"; return 1; }
  done <<<$'0 EXIT_OK\n1 EXIT_FAILURE\n2 EXIT_USAGE\n3 EXIT_NO_SOURCE'
  project=$(project_copy nosource)
  printf '2.6 2.6.9 %s file:///nonexistent/Python-2.6.9.tgz -\n' "$(printf '0%.0s' {1..64})" >"$project/versions.txt"
  expect "$EXIT_NO_SOURCE" "no source for Python 2.6.9" \
    "$project/build.sh" --fetch-only --cache "$WORK/cache-empty" --build-dir "$WORK/b-nosource" 2.6
}

# --optimize: its own tree (a quick and an optimized build never share one),
# the default of --package (--no-optimize asks for a quick one), not with
# --debug; --help names both flags.
case_optimize() {
  local want args got
  while IFS='|' read -r want args; do
    read -ra args <<<"$args"
    got=$("$BUILD_SH" --print-tree --build-dir /b "${args[@]}" "$S27")
    echo "${args[*]}: $got"
    [[ "$got" == "/b/Python-$R27-$want" ]] || { echo "expected /b/Python-$R27-$want"; return 1; }
  done <<<"gcfreeze-opt|--optimize
stock-opt|--stock --optimize
gcfreeze|--optimize --no-optimize
gcfreeze-opt|--package deb
gcfreeze|--package rpm --no-optimize
gcfreeze-debug|--package deb --debug"
  expect 2 "--optimize and --debug do not go together: pick one" "$BUILD_SH" --optimize --debug --build-dir "$WORK/b-opt" "$S27"
  "$BUILD_SH" --help | grep -E '^ +--optimize ' && "$BUILD_SH" --help | grep -E '^ +--no-optimize '
}

# --debian-mirror: a deb822 URIs: field with several URIs, a one-line entry
# with [options] that hold a space, comments; none: exit 1.
case_debian_mirror() {
  local etc=$WORK/apt-etc
  rm -rf "$etc" && mkdir -p "$etc/sources.list.d"
  printf '# deb http://commented.example/debian bookworm main\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one-line.example/debian/ bookworm main\n' >"$etc/sources.list"
  expect 0 '^http://one-line\.example/debian$' env GCFREEZE_APT_ETC="$etc" "$BUILD_SH" --debian-mirror
  printf 'Types: deb\nURIs: http://deb822.example/debian-security http://deb822.example/debian\nSuites: bookworm\n' >"$etc/sources.list.d/debian.sources"
  expect 0 '^http://deb822\.example/debian$' env GCFREEZE_APT_ETC="$etc" "$BUILD_SH" --debian-mirror
  rm -f "$etc/sources.list" "$etc/sources.list.d/debian.sources"
  printf 'deb-src http://src-only.example/debian bullseye main\n' >"$etc/sources.list.d/src.list"
  expect 1 "no Debian mirror" env GCFREEZE_APT_ETC="$etc" "$BUILD_SH" --debian-mirror
}

# CMD cannot use an ARG, so the Dockerfile has a stage python-X.Y for each
# series of build.sh --list, with the official images' CMD.
case_dockerfile_stages() {
  local series want got bad=0
  while read -r series _; do
    want="CMD [\"$(official_cmd "$series")\"]"
    got=$(awk -v s="python-$series" '$1 == "FROM" && $NF == s { on = 1; next } on && /^(FROM|CMD)/ { print; exit }' "$TOP/Dockerfile")
    echo "python-$series: ${got:-(no stage)}"
    [[ "$got" == "$want" ]] || { echo "the Dockerfile needs: FROM runtime AS python-$series, then $want"; bad=1; }
  done < <("$BUILD_SH" --list)
  [[ $bad -eq 0 ]]
}

# OUTDIR/manifest.txt (packaging/lib.sh): one line per format, release and
# package; a rebuild replaces its line.
case_manifest() {
  local out=$WORK/manifest-out
  rm -rf "$out" && mkdir -p "$out"
  (
    # shellcheck source=packaging/lib.sh
    . "$TOP/packaging/lib.sh"
    OUTDIR=$out SERIES=$S27 REL=$R27
    record_output deb "python$S27-gcfreeze" "$out/first.deb"
    record_output rpm "python$S27-gcfreeze" "$out/a.rpm"
    record_output deb "python$S27-gcfreeze" "$out/second.deb"
  )
  cat "$out/manifest.txt"
  [[ "$(cat "$out/manifest.txt")" == "rpm $S27 $R27 python$S27-gcfreeze $out/a.rpm
deb $S27 $R27 python$S27-gcfreeze $out/second.deb" ]]
}

main() {
  rm -rf "$WORK" && mkdir -p "$WORK"
  echo "==> build.sh under bad input"
  run_case "unknown version, unknown option, --source with two versions" case_unknown_version
  run_case "truncated tarball: refused by sha256, removed, nothing built" case_bad_tarball
  run_case "series that no longer applies: named, no half-patched tree" case_series_does_not_apply
  run_case "partly patched tree refused" case_partly_patched_tree
  run_case "tree of another release refused" case_wrong_version_tree
  run_case "unwritable prefix: clear message before any work" case_unwritable_prefix
  run_case "missing build dependencies, not root: exact command" case_missing_deps_not_root
  run_case "interrupted during make, then rerun: recovers" case_interrupted_make
  run_case "interrupted during install, then rerun: no partial install" case_interrupted_install
  echo "==> build.sh's interfaces"
  run_case "--list: the releases of versions.txt, in order" case_list
  run_case "--print-tree; exit statuses named in --help, EXIT_NO_SOURCE" case_tree_and_exit_codes
  run_case "--optimize: own tree, default of --package, not with --debug" case_optimize
  run_case "--debian-mirror: deb822 URIs, deb [options] URI, comments" case_debian_mirror
  run_case "Dockerfile: a CMD stage for every series of --list" case_dockerfile_stages
  run_case "--package manifest: one line per format, release, package" case_manifest
  summary
}

main "$@"
