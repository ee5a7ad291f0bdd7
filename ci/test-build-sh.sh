#!/usr/bin/env bash
# ci/test-build-sh.sh — build.sh under bad input.  Each case checks the exit
# status, that the message names the fix, and that nothing half-done is left.
# Cases that need a real source tree use 2.7.18's when it can be had.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${GCFREEZE_CI_DIR:-/tmp/gcfreeze-ci}/build-sh
PASSED=0 FAILED=0 SKIPPED=0

# run_case NAME FUNCTION: one counted case.
run_case() {
  local name=$1 log rc
  log=$WORK/$2.log
  # errexit of its own (in an "if" condition bash would ignore it, in the
  # subshell too)
  set +e
  (set -e; "$2") >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    printf '    ok    %s\n' "$name"
  elif [[ -f "$WORK/$2.skip" ]]; then
    SKIPPED=$((SKIPPED + 1))
    printf '    SKIP  %s: %s\n' "$name" "$(cat "$WORK/$2.skip")"
  else
    FAILED=$((FAILED + 1))
    printf '    FAIL  %s — last lines of %s:\n' "$name" "$log"
    tail -n 20 "$log" | sed 's/^/        /'
  fi
}

skip() {
  echo "$2" >"$WORK/$1.skip"
  return 1
}

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

real_tree_27() {
  local tarball=${GCFREEZE_CACHE:-$HOME/.cache/gcfreeze}/Python-2.7.18.tgz
  [[ -f "$tarball" ]] || return 1
  rm -rf "$WORK/real-2.7.18" && mkdir -p "$WORK/real-2.7.18"
  tar -xzf "$tarball" -C "$WORK/real-2.7.18" --strip-components=1
  echo "$WORK/real-2.7.18"
}

case_unknown_version() {
  expect 2 "unknown version '2.8': choose from 2.7 3.4 3.5 3.6" "$TOP/build.sh" --fetch-only 2.8
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
  # the freeze series (the compat series would stop first: no setup.py here)
  expect 1 "patches/2.7/gc-freeze.patch no longer applies to Modules/gcmodule.c" \
    "$project/build.sh" --no-compat --source "$tree" --build-dir "$WORK/b-stale" --prefix "$WORK/prefix-stale" --no-deps 2.7
  # a file the series patches is missing: named as such
  expect 1 "patches/2.7/compat/[a-z0-9-]+\.patch no longer applies to [A-Za-z/_.]+ \(no such file in the tree\)" \
    "$project/build.sh" --source "$tree" --build-dir "$WORK/b-stale" --prefix "$WORK/prefix-stale" --no-deps 2.7
  [[ ! -e "$WORK/b-stale/Python-2.7.18-gcfreeze" && ! -e "$WORK/b-stale/Python-2.7.18-gcfreeze.part" ]] ||
    { echo "a half-patched tree was left"; return 1; }
  [[ "$(cat "$tree/Modules/gcmodule.c")" == 'static int unrelated;' ]] || { echo "the user's tree was modified"; return 1; }
}

case_partly_patched_tree() {
  local tree
  tree=$(real_tree_27) || skip case_partly_patched_tree "no 2.7.18 tarball in the cache"
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
  command -v setpriv >/dev/null || skip case_unwritable_prefix "setpriv is missing"
  [[ $(id -u) -eq 0 ]] || skip case_unwritable_prefix "needs root to switch to an unprivileged user"
  local copy
  copy=$(project_copy nobody)
  chmod -R a+rX "$WORK"
  expect 1 "cannot write to /usr/local/gcfreeze-test .*pass --prefix" \
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp \
    "$copy/build.sh" --build-dir /tmp/gcfreeze-nobody --prefix /usr/local/gcfreeze-test --no-deps 2.7
  [[ ! -e /usr/local/gcfreeze-test ]] || { echo "the prefix was created"; return 1; }
}

case_missing_deps_not_root() {
  command -v setpriv >/dev/null || skip case_missing_deps_not_root "setpriv is missing"
  [[ $(id -u) -eq 0 ]] || skip case_missing_deps_not_root "needs root to switch to an unprivileged user"
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
  local tarball=${GCFREEZE_CACHE:-$HOME/.cache/gcfreeze}/Python-2.7.18.tgz
  [[ -f "$tarball" ]] || skip case_interrupted_make "no 2.7.18 tarball in the cache"
  interrupt_then_rerun make "$tarball"
}

case_interrupted_install() {
  local tarball=${GCFREEZE_CACHE:-$HOME/.cache/gcfreeze}/Python-2.7.18.tgz
  [[ -f "$tarball" ]] || skip case_interrupted_install "no 2.7.18 tarball in the cache"
  # the tree the previous case built is reused: this costs only the install
  interrupt_then_rerun stage "$tarball"
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
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 ]]
}

main "$@"
