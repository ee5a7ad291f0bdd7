#!/usr/bin/env bash
# ci/test-security.sh — prove the security series on a built interpreter, or
# print the README's CVE table.
#
#   ci/test-security.sh [--against STOCK_PYTHON] [--timeout SECONDS] PYTHON SERIES
#   ci/test-security.sh --table
#
# For each patch of patches/SERIES/security/series, runs the unittest ids of
# its "Test:" header field under PYTHON (from a scratch directory, with the
# caller's PYTHON* variables cleared): one check (ci/lib.sh) per patch, named
# "CVE-... (patch)", that passes, fails with why, or is skipped with why.
# With --against, the same ids also run under STOCK_PYTHON (the release built
# with --no-security): its Lib/test lacks the new tests, so the test modules
# are taken from PYTHON's Lib/test (put first on the "test" package's path;
# the library under test and test.support stay STOCK_PYTHON's own). A patch
# passes only if its tests pass on PYTHON and fail on STOCK_PYTHON: "detects:
# fails on the release", else "DOES NOT DETECT". A run that exceeds the
# timeout (default 180 s) counts as failed. On the release the limit is 20
# times what the tests took on PYTHON, at least 30 s (at most the timeout):
# a quadratic or exponential regression test never ends there, and waiting
# the full timeout for each would take CI past its time. A patch whose fix
# lies in Lib/test itself says so in an "Against-Release:" header field and
# is not run there.
# Ends with "N passed, N failed, N skipped"; exit status 0 only with no failure.
#
# --table prints the markdown table CVE x version from the patch headers
# ("CVE:" fields of the patches in each security/series) and the
# security/status files (CVE<TAB>not-affected|not-fixed<TAB>reason), one row
# per CVE found anywhere; a CVE with no entry on a version prints MISSING (two
# entries: TWICE) and the exit status is then 1.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
PROG=ci/test-security.sh
EXIT_USAGE=2

AGAINST=
TIMEOUT=180
TABLE=0
PYTHON=
SERIES=
SCRATCH=

usage() {
  cat <<EOF
Usage: $PROG [--against STOCK_PYTHON] [--timeout SECONDS] PYTHON SERIES
       $PROG --table

PYTHON is an interpreter built with patches/SERIES/security (SERIES: 2.7,
3.4, 3.5 or 3.6); STOCK_PYTHON one built from the same release with
'./build.sh --no-security --stock'. --table prints the README's CVE table.
EOF
}

usage_error() { die "$1 (see $PROG --help)" "$EXIT_USAGE"; }

# --- the patch headers ------------------------------------------------------

# header_field PATCH FIELD: the value of FIELD in the DEP-3 header of PATCH
# (the header ends at the first line of the diff).
header_field() {
  awk -v field="$2:" '
    /^(---|\+\+\+|diff |Index: )/ { exit }
    $1 == field { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$1"
}

# series_patches SERIES: the patch names of patches/SERIES/security/series.
series_patches() {
  local file=$TOP/patches/$1/security/series
  [[ -f $file ]] || return 0
  awk '!/^[ \t]*(#|$)/ { print $1 }' "$file"
}

# versions: the release series, from build.sh --list where it has that
# option, else the version directories under patches/.
versions() {
  local out
  if out=$("$TOP/build.sh" --list 2>/dev/null) && [[ -n $out ]]; then
    grep -oE '(^|[^0-9.])[0-9]+\.[0-9]+' <<<"$out" | grep -oE '[0-9]+\.[0-9]+' | awk '!seen[$0]++'
  else
    find "$TOP/patches" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*.[0-9]*' -printf '%f\n' | sort -V
  fi
}

# --- running the tests ----------------------------------------------------------

# clean_env: env arguments that unset every PYTHON* variable of the caller
# (PYTHONPATH, PYTHONHOME... would change what the interpreter imports).
clean_env() {
  local var
  printf '%s\0' env
  for var in $(compgen -e); do
    [[ $var == PYTHON* ]] && printf '%s\0' -u "$var"
  done
  return 0
}

# test_dir PYTHON: the directory of PYTHON's "test" package.
test_dir() {
  run_clean "$1" -c 'import os, test; print(os.path.dirname(os.path.abspath(test.__file__)))'
}

# run_clean PYTHON ARG...: PYTHON in the scratch directory, clean environment.
# A denial-of-service test that runs the attack on the release must not take
# the machine's memory with it: 4 GiB of address space at most.
run_clean() {
  local -a envargs
  mapfile -d '' envargs < <(clean_env)
  (ulimit -v $((4 * 1024 * 1024)) && cd "$SCRATCH" && "${envargs[@]}" "$@")
}

# The runner: "python -m unittest ID..." that first loads every test (exit
# status 3 when one cannot be loaded, so that a missing test never reads as
# a failing one). With a TESTDIR argument, the test modules come from TESTDIR
# (put first on the "test" package's path once test.support is imported from
# the interpreter's own Lib), and it checks that they did.
write_runner() {
  cat >"$SCRATCH/runner.py" <<'EOF'
import os, sys, unittest
import test
try:
    import test.support
except ImportError:
    import test.test_support
testdir, ids = sys.argv[1], sys.argv[2:]
if testdir:
    test.__path__.insert(0, testdir)
def flat(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            for x in flat(t):
                yield x
        else:
            yield t
try:
    suite = unittest.defaultTestLoader.loadTestsFromNames(ids)
    tests = list(flat(suite))
    for t in tests:
        if type(t).__name__ in ('_FailedTest', 'ModuleImportFailure'):
            raise ImportError('%s: %s' % (t.id(), t._testMethodName))
        mod = sys.modules[type(t).__module__]
        if testdir and not os.path.abspath(mod.__file__).startswith(testdir):
            raise ImportError('%s comes from %s, not %s' % (t.id(), mod.__file__, testdir))
except Exception as e:
    sys.stderr.write('cannot load the tests: %r\n' % (e,))
    sys.exit(3)
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
EOF
}

# run_ids LOG PYTHON TESTDIR ID...: the runner with a timeout (TESTDIR may be
# empty: the interpreter's own tests).
run_ids() {
  local log=$1 python=$2 testdir=$3 rc=0 limit=${RUN_LIMIT:-$TIMEOUT}
  shift 3
  run_clean timeout --kill-after=10 "$limit" "$python" -B "$SCRATCH/runner.py" "$testdir" "$@" >"$log" 2>&1 || rc=$?
  return "$rc"
}

# outcome RC LOG: pass, fail, skip (every test skipped), timeout, or noload.
outcome() {
  local rc=$1 log=$2 ran skipped
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo timeout
  elif [[ $rc -eq 3 ]]; then
    echo noload
  elif [[ $rc -ne 0 ]]; then
    echo fail
  else
    ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in.*/\1/p' "$log" | tail -n 1)
    skipped=$(sed -n 's/^OK (.*skipped=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [[ -n $ran && -n $skipped && $skipped -eq $ran ]]; then echo skip; else echo pass; fi
  fi
}

# skip_reason LOG: the reason unittest gave for the first skip.
skip_reason() {
  sed -n "s/.*skipped '\\(.*\\)'.*/\\1/p" "$1" | head -n 1
}

# why OUTCOME: the words for an outcome.
why() {
  case $1 in
    timeout) echo "the tests time out after ${TIMEOUT}s" ;;
    noload) echo "the tests cannot be loaded" ;;
    fail) echo "the tests fail" ;;
    skip) echo "the tests are skipped" ;;
    pass) echo "the tests pass" ;;
  esac
}

# release_limit SECONDS: the time the release gets for tests that took
# SECONDS on PYTHON: 20 times as long, at least 30 s, at most the timeout.
release_limit() {
  local limit=$(($1 * 20))
  ((limit >= 30)) || limit=30
  ((limit <= TIMEOUT)) || limit=$TIMEOUT
  echo "$limit"
}

# prove_patch PATCH FILE: in a check (ci/lib.sh), run the patch's tests under
# PYTHON and, with --against, under the release; the last line says why it
# failed or was skipped, or how it passed.
prove_patch() {
  local patch=$1 file=$2 ids log rc=0 res stock_res against start took limit
  ids=$(header_field "$file" Test)
  [[ -n $ids ]] || skip "no Test: field"
  log=$SCRATCH/${patch%.patch}.log
  start=$SECONDS
  # shellcheck disable=SC2086 # the ids are words
  run_ids "$log" "$PYTHON" "" $ids || rc=$?
  took=$((SECONDS - start))
  res=$(outcome "$rc" "$log")
  case $res in
    skip) skip "$(skip_reason "$log")" ;;
    timeout | fail | noload)
      sed 's/^/    /' "$log" | tail -n 15
      echo "$(why "$res") on $PYTHON"
      return 1 ;;
  esac
  if [[ -z $AGAINST ]]; then
    echo "the tests pass"
    return 0
  fi
  # A fix that lies in Lib/test itself has nothing to detect on the release:
  # its header says why ("Against-Release: none, REASON").
  against=$(header_field "$file" Against-Release)
  if [[ -n $against ]]; then
    echo "not run on the release: $against"
    return 0
  fi
  rc=0
  limit=$(release_limit "$took")
  # shellcheck disable=SC2086
  RUN_LIMIT=$limit run_ids "$log.stock" "$AGAINST" "$PATCHED_TESTS" $ids || rc=$?
  stock_res=$(outcome "$rc" "$log.stock")
  case $stock_res in
    fail) echo "detects: fails on the release" ;;
    timeout) echo "detects: fails on the release (no end in ${limit}s; ${took}s here)" ;;
    noload)
      sed 's/^/    /' "$log.stock" | tail -n 5
      echo "$(why noload) on the release $AGAINST"
      return 1 ;;
    *) echo "DOES NOT DETECT: $(why "$stock_res") on the release $AGAINST"
      return 1 ;;
  esac
}

# test_patch PATCH: its check, and on a pass the line that says how.
test_patch() {
  local patch=$1 file=$TOP/patches/$SERIES/security/$1 cves log
  [[ -f $file ]] || die "patches/$SERIES/security/series names $patch, which does not exist"
  cves=$(header_field "$file" CVE)
  log=$SCRATCH/${patch%.patch}.check.log
  check "${cves:-no CVE: field} ($patch)" "$log" prove_patch "$patch" "$file"
  if ok; then note "      $(tail -n 1 "$log")"; fi
}

run_series() {
  local patch
  [[ -d $TOP/patches/$SERIES ]] || usage_error "no patches/$SERIES: SERIES is one of $(versions | paste -sd " ")"
  command -v "$PYTHON" >/dev/null 2>&1 || usage_error "PYTHON '$PYTHON' is not an executable"
  [[ -z $AGAINST ]] || command -v "$AGAINST" >/dev/null 2>&1 || usage_error "STOCK_PYTHON '$AGAINST' is not an executable"
  SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/test-security.XXXXXX")
  trap 'rm -rf "$SCRATCH"' EXIT
  write_runner
  [[ -z $AGAINST ]] || PATCHED_TESTS=$(test_dir "$PYTHON") || die "$PYTHON cannot import its test package: build it with its tests installed"
  while read -r patch; do
    test_patch "$patch"
  done < <(series_patches "$SERIES")
  summary
}

# --- the table --------------------------------------------------------------------

# entries: "CVE<TAB>VERSION<TAB>cell" for every patch and status line.
entries() {
  local v patch file cve kind reason
  while read -r v; do
    while read -r patch; do
      file=$TOP/patches/$v/security/$patch
      [[ -f $file ]] || die "patches/$v/security/series names $patch, which does not exist"
      for cve in $(header_field "$file" CVE); do
        printf '%s\t%s\tfixed (%s)\n' "$cve" "$v" "\`${patch%.patch}\`"
      done
    done < <(series_patches "$v")
    file=$TOP/patches/$v/security/status
    [[ -f $file ]] || continue
    while IFS=$'\t' read -r cve kind reason; do
      [[ -z $cve || $cve == \#* ]] && continue
      case $kind in
        not-affected) printf '%s\t%s\tnot affected: %s\n' "$cve" "$v" "$reason" ;;
        not-fixed) printf '%s\t%s\tnot fixed: %s\n' "$cve" "$v" "$reason" ;;
        *) die "patches/$v/security/status: '$kind' for $cve: write not-affected or not-fixed" ;;
      esac
    done <"$file"
  done < <(versions)
}

print_table() {
  local all missing=0 v cve cell n row
  local -a vs
  mapfile -t vs < <(versions)
  all=$(entries)
  printf '| CVE |'; printf ' %s |' "${vs[@]}"; echo
  printf '| --- |'; printf ' --- |%.0s' "${vs[@]}"; echo
  while read -r cve; do
    row="| $cve |"
    for v in "${vs[@]}"; do
      cell=$(awk -F'\t' -v c="$cve" -v v="$v" '$1 == c && $2 == v { print $3 }' <<<"$all")
      n=$(grep -c . <<<"$cell" || true)
      if [[ $n -eq 0 ]]; then
        cell=MISSING
        missing=1
      elif [[ $n -gt 1 ]]; then
        cell="TWICE: $(tr '\n' ';' <<<"$cell")"
        missing=1
      fi
      row+=" ${cell//|/\\|} |"
    done
    echo "$row"
  done < <(cut -f1 <<<"$all" | sort -u -t- -k2,2n -k3,3n)
  counts "$all" "${#vs[@]}" >&2
  [[ $missing -eq 0 ]] || {
    echo "$PROG: a CVE has no entry (or two) on a version: add a patch or a status line there" >&2
    return 1
  }
}

# counts ENTRIES NVERSIONS: one line of totals (on stderr), for notes.
counts() {
  local rows
  rows=$(cut -f1 <<<"$1" | sort -u | grep -c . || true)
  printf '%s CVEs x %s versions: %s fixed, %s not affected, %s not fixed\n' "$rows" "$2" \
    "$(grep -c $'\tfixed (' <<<"$1" || true)" "$(grep -c $'\tnot affected: ' <<<"$1" || true)" \
    "$(grep -c $'\tnot fixed: ' <<<"$1" || true)"
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --table) TABLE=1 ;;
      --against)
        [[ $# -ge 2 ]] || usage_error "--against needs STOCK_PYTHON"
        AGAINST=$2; shift ;;
      --timeout)
        [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout needs a number of seconds"
        TIMEOUT=$2; shift ;;
      -*) usage_error "unknown option $1" ;;
      *) break ;;
    esac
    shift
  done
  if [[ $TABLE -eq 1 ]]; then
    [[ $# -eq 0 && -z $AGAINST ]] || usage_error "--table takes no other argument"
    return 0
  fi
  [[ $# -eq 2 ]] || usage_error "give PYTHON and SERIES (e.g. $PROG /usr/local/bin/python2.7 2.7)"
  PYTHON=$1 SERIES=$2
}

main() {
  parse_args "$@"
  if [[ $TABLE -eq 1 ]]; then
    print_table
  else
    run_series
  fi
}

main "$@"
