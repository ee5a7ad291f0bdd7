# ci/lib.sh — the skeleton every ci script (and bench/run.sh) shares: the
# versions loop, counted checks, the summary, and Debian chroots.  Sourced
# after setting TOP (the project's top directory).
#
# Versions (build.sh is asked; nothing here reads versions.txt):
# for_each_version FN [VERSION...]
#                     for each release build.sh --list names (all of them when
#                     no VERSION is given): a heading, build.sh --fetch-only
#                     (with BUILD_ARGS), then FN SERIES RELEASE.  No source
#                     (build.sh's EXIT_NO_SOURCE): SKIPPED and a SKIP line with
#                     the reason; any other fetch failure: a failed check.
#                     After FN: a PASS or FAIL line in SUMMARY, with the time,
#                     SUMMARY_WHAT after the release, SUMMARY_NOTE (which FN
#                     may set) in the parentheses and VERSION_LOGS named on a
#                     failure.  VERSION_TITLE is added to the heading.
# summary_lines       the SUMMARY lines
# summary             an empty line, the SUMMARY lines, "N passed, N failed,
#                     N skipped"; true when nothing failed
#
# Checks:
# say, note           a heading line, an indented line
# die MESSAGE [STATUS]
#                     "ci/SCRIPT: error: MESSAGE" on stderr, exit STATUS (1)
# check NAME LOG CMD...
#                     one counted check (PASSED or FAILED; on failure also
#                     VERSION_OK=0): CMD runs with errexit of its own and its
#                     output in LOG, one line with the duration, the log's
#                     tail on failure; LAST_SECONDS is its duration, TIMINGS
#                     collects them.  Call it as a command of its own, never
#                     in "if", "||" or "&&": there bash ignores errexit in
#                     everything it runs, the subshell too, and a failing
#                     step would pass unseen.  It returns 0; ok tells whether
#                     the check passed.  CMD may call skip REASON: the check
#                     is then counted in SKIPPED, with the reason.
# skip REASON         (in a check) end it as skipped
# fail NAME REASON    a failed check that had no command to run (FAILED,
#                     VERSION_OK=0), with the reason
# step [--independent] NAME LOG CMD...
#                     a check that is skipped (SKIPPED) when an earlier step
#                     of this version failed; its failure makes the later steps
#                     skip (BLOCKED), unless it is --independent (a test the
#                     following steps do not need)
# ok                  whether the last check or step passed
# add_counts LOG       add the counts of LOG's last line "N passed, N failed,
#                     N skipped" to ours; false when it has none
# sub_suite LABEL LOG CMD...
#                     a ci script whose last line is "N passed, N failed,
#                     N skipped" (its output also in LOG): its counts add to
#                     ours, and a PASS or FAIL line with them goes to SUMMARY
# install_tools LOG PKG...
#                     apt-get install PKG... (as root), the log's tail and
#                     die when that fails
# lib_tests_in_root ROOT PYTHON
#                     the Lib-tests under PYTHON in ROOT, from a clean copy at
#                     ROOT/Lib-tests (no byte code of the host's interpreters)
#
# Debian roots: packaging/chroot.sh (cached_root_tar, fresh_root, in_root,
# remove_root, unmount_all, ...), sourced here.
# shellcheck shell=bash

# shellcheck source=packaging/chroot.sh
. "$TOP/packaging/chroot.sh"

BUILD_SH=$TOP/build.sh
PASSED=0 FAILED=0 SKIPPED=0
SUMMARY=() TIMINGS=() BUILD_ARGS=()
BLOCKED=
# shellcheck disable=SC2034  # read by the scripts that source this
VERSION_OK=1 LAST_SECONDS=0 CHECK_OK=1 VERSION_TITLE='' SUMMARY_WHAT='' SUMMARY_NOTE='' VERSION_LOGS=''

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '%s/%s: error: %s\n' "$(basename "$(dirname "$0")")" "${0##*/}" "$1" >&2
  exit "${2:-1}"
}

# The exit status build.sh --help gives NAME (EXIT_NO_SOURCE, ...).
build_exit_status() {
  local n
  n=$("$BUILD_SH" --help | awk -v n="$1" '$2 == n { print $1; exit }')
  [[ -n "$n" ]] || die "build.sh --help names no $1"
  echo "$n"
}
EXIT_NO_SOURCE=$(build_exit_status EXIT_NO_SOURCE)

# The exit status of a check that skipped (automake's convention).
SKIP_STATUS=77
skip() {
  echo "$1"
  exit "$SKIP_STATUS"
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
    TIMINGS+=("$(printf '%6ss  %s' "$LAST_SECONDS" "$name")")
  elif [[ $rc -eq $SKIP_STATUS ]]; then
    SKIPPED=$((SKIPPED + 1)) CHECK_OK=0
    note "SKIP  $name: $(tail -n 1 "$log")"
  else
    FAILED=$((FAILED + 1)) CHECK_OK=0 VERSION_OK=0
    note "FAIL  $name (${LAST_SECONDS}s) — last lines of $log:"
    tail -n 25 "$log" | sed 's/^/        /'
    TIMINGS+=("$(printf '%6ss  %s (FAILED)' "$LAST_SECONDS" "$name")")
  fi
}

ok() { [[ $CHECK_OK -eq 1 ]]; }

fail() {
  FAILED=$((FAILED + 1)) CHECK_OK=0 VERSION_OK=0
  note "FAIL  $1: $2"
}

step() {
  local independent=0
  if [[ "$1" == --independent ]]; then
    independent=1
    shift
  fi
  if [[ -n "$BLOCKED" ]]; then
    SKIPPED=$((SKIPPED + 1)) CHECK_OK=0
    note "skip  $1 (after: $BLOCKED)"
    return 0
  fi
  check "$@"
  ok || [[ $independent -eq 1 ]] || BLOCKED=$1
}

# add_counts LOG: when LOG ends with "N passed, N failed, N skipped", add
# them to ours (LOG_FAILED is its N failed); false otherwise.
add_counts() {
  local last p k
  last=$(tail -n 1 "$1")
  [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]] || return 1
  p=${BASH_REMATCH[1]} LOG_FAILED=${BASH_REMATCH[2]} k=${BASH_REMATCH[3]}
  PASSED=$((PASSED + p)) FAILED=$((FAILED + LOG_FAILED)) SKIPPED=$((SKIPPED + k))
  [[ $LOG_FAILED -eq 0 ]] || VERSION_OK=0
  LOG_COUNTS="$p passed, $LOG_FAILED failed, $k skipped"
}

sub_suite() {
  local label=$1 log=$2
  shift 2
  "$@" 2>&1 | tee "$log" || true
  if add_counts "$log"; then
    SUMMARY+=("$([[ $LOG_FAILED -eq 0 ]] && echo PASS || echo FAIL) $label ($LOG_COUNTS)")
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL $label: $1 did not finish (log: $log)")
  fi
}

# apt-get waits for the dpkg lock (ci/test.sh runs two versions at a time).
APT_LOCK_WAIT=(-o DPkg::Lock::Timeout=600)

install_tools() {
  local log=$1
  shift
  [[ $(id -u) -eq 0 ]] || die "missing tools: sudo apt-get install $*"
  say "installing $*"
  { apt-get update -q "${APT_LOCK_WAIT[@]}" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${APT_LOCK_WAIT[@]}" --no-install-recommends "$@"; } \
    >"$log" 2>&1 || { tail -n 20 "$log"; die "apt-get could not install $*"; }
}

# --- the versions loop --------------------------------------------------------

# run_version FN SERIES RELEASE: one turn of for_each_version.
run_version() {
  local fn=$1 series=$2 rel=$3 start reason rc=0 took
  start=$(date +%s)
  VERSION_OK=1 BLOCKED='' SUMMARY_NOTE='' VERSION_LOGS=''
  say "$rel${VERSION_TITLE:+ $VERSION_TITLE}"
  reason=$("$BUILD_SH" --fetch-only "${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"}" "$rel" 2>&1 >/dev/null) || rc=$?
  if [[ $rc -eq $EXIT_NO_SOURCE ]]; then
    SKIPPED=$((SKIPPED + 1))
    SUMMARY+=("SKIP $rel$SUMMARY_WHAT: no source here ($(head -n 1 <<<"$reason" | sed 's/^build.sh: error: //'))")
    note "skipped: no source"
    return 0
  elif [[ $rc -ne 0 ]]; then
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL $rel$SUMMARY_WHAT: the source could not be fetched: $reason")
    return 0
  fi
  "$fn" "$series" "$rel"
  took=$(($(date +%s) - start))
  if [[ $VERSION_OK -eq 1 ]]; then
    SUMMARY+=("PASS $rel$SUMMARY_WHAT (${took}s${SUMMARY_NOTE:+, $SUMMARY_NOTE})")
  else
    SUMMARY+=("FAIL $rel$SUMMARY_WHAT (${took}s): see the lines above${VERSION_LOGS:+; logs in $VERSION_LOGS}")
  fi
}

for_each_version() {
  local fn=$1 text line series rel lines=()
  shift
  text=$("$BUILD_SH" --list "$@") || die "unknown version in: $* (./build.sh --list names the known ones)" 2
  # read first: FN may read stdin (apt-get, chroot)
  mapfile -t lines <<<"$text"
  for line in "${lines[@]}"; do
    read -r series rel _ <<<"$line"
    run_version "$fn" "$series" "$rel"
  done
}

summary_lines() { [[ ${#SUMMARY[@]} -eq 0 ]] || printf '%s\n' "${SUMMARY[@]}"; }

summary() {
  echo
  summary_lines
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [[ $FAILED -eq 0 ]]
}

# The official images' CMD for a series: python on 2.x, python3 on 3.x.
official_cmd() {
  case $1 in
    2.*) echo python ;;
    *) echo python3 ;;
  esac
}

# --- in a Debian root -----------------------------------------------------------

lib_tests_in_root() {
  local root=$1 python=$2
  rm -rf "$root/Lib-tests"
  cp -a "$TOP/Lib-tests" "$root/Lib-tests"
  rm -rf "$root/Lib-tests/__pycache__"
  find "$root/Lib-tests" -name '*.pyc' -delete
  in_root "$root" sh -c "cd /tmp && $python -m unittest discover -v -s /Lib-tests -p 'test_*.py'"
}
