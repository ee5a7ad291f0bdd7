#!/usr/bin/env bash
# ci/test-recipes.sh PYTHON... — run every example of examples/ for real, with
# the gc.freeze() recipe and without, under each interpreter given (a gcfreeze
# build, or CPython >= 3.7), and compare.
#
# Per interpreter and server (plain prefork, multiprocessing, uWSGI, gunicorn,
# celery prefork): start the example on 127.0.0.1 with WORKERS workers, wait
# until every worker has reported (examples/gcfreeze_report.py), send a
# bounded load (REQUESTS requests or tasks, CONCURRENCY at a time, loopback
# only, each step under a time limit), read every worker's state with
# examples/gcfreeze-status.py, stop it; then the same without the recipe
# (GCFREEZE_RECIPE=0).  It passes when every worker of the recipe run reports
# a non-zero gc.get_freeze_count() that covers the application's heap, every
# worker of the run without reports 0, and the workers' summed private memory
# (USS: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) is below half
# of the run without.  A server that cannot
# run under an interpreter is a skip with the reason.  One check (ci/lib.sh)
# per interpreter and server; ends with "N passed, N failed, N skipped".
#
# Servers come from Debian's archive (as root, missing packages are installed;
# GCFREEZE_RECIPES_NO_INSTALL=1 skips that): uWSGI's python plugin is built
# for each interpreter from uwsgi-src into the scratch dir (about 25 s);
# gunicorn (python3-gunicorn, pure Python) is copied alone into a scratch
# PYTHONPATH; celery 5.2 needs Python >= 3.7 and runs only where it imports.
# Scratch: GCFREEZE_RECIPES_DIR (default /tmp/gcfreeze-recipes).
# GCFREEZE_RECIPES_SERVERS: the servers to test (default: all five, as below).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
. "$TOP/ci/lib.sh"
EXAMPLES=$TOP/examples
WORK=${GCFREEZE_RECIPES_DIR:-/tmp/gcfreeze-recipes}
WORKERS=${WORKERS:-3}
REQUESTS=${REQUESTS:-300}
CONCURRENCY=${CONCURRENCY:-4}
# the demo application's heap: 50000 records, about 200000 tracked objects
# (half the examples' default, to keep a version under 3 minutes here)
export GCFREEZE_DEMO_RECORDS=${GCFREEZE_DEMO_RECORDS:-50000}
START_TIMEOUT=90  # seconds for the master to load and every worker to report
LOAD_TIMEOUT=120  # seconds for the bounded load
SERVERS=" ${GCFREEZE_RECIPES_SERVERS:-prefork multiprocessing uwsgi gunicorn celery} "
PY=
PYV=
DEB_PY3=/usr/lib/python3/dist-packages

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y "${APT_LOCK_WAIT[@]}" --no-install-recommends "$@"; }

# apt-get install the packages that are missing, as root; otherwise say which.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 || ${GCFREEZE_RECIPES_NO_INSTALL:-0} == 1 ]]; then
    MISSING_REASON="not installed: apt-get install ${missing[*]}"
    return 1
  fi
  # a fresh machine may have no package lists yet: update once, then retry
  if ! { apt_install "${missing[@]}" || { apt-get update -q && apt_install "${missing[@]}"; }; } >"$WORK/apt.log" 2>&1; then
    MISSING_REASON="apt-get install ${missing[*]} failed (see $WORK/apt.log)"
    return 1
  fi
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start "$@" in examples/ as a process group of its own; MASTER is its pid
# (the command execs into the server, so that is the server's master).
start_server() {
  local run=$1 recipe=$2 pythonpath=$3
  shift 3
  (cd "$EXAMPLES" && exec env GCFREEZE_RECIPE="$recipe" GCFREEZE_STATUS_DIR="$run/status" \
    GCFREEZE_CELERY_DIR="$run/celery" PYTHONPATH="$pythonpath" PYTHONDONTWRITEBYTECODE=1 \
    setsid "$@") >"$run/server.log" 2>&1 &
  MASTER=$!
}

# Wait until the master and WORKERS workers have written their status file.
wait_reported() {
  local run=$1 deadline=$((SECONDS + START_TIMEOUT)) n
  while ((SECONDS < deadline)); do
    kill -0 "$MASTER" 2>/dev/null || { echo "the server exited early:"; tail -n 20 "$run/server.log"; return 1; }
    n=$(find "$run/status" -name '*.json' 2>/dev/null | wc -l)
    ((n >= WORKERS + 1)) && return 0
    sleep 0.5
  done
  echo "not every worker reported within ${START_TIMEOUT}s (${n:-0} of $((WORKERS + 1)) files):"
  tail -n 20 "$run/server.log"
  return 1
}

# mp_pool.py maps its tasks itself, then prints "N tasks done".
wait_tasks_done() {
  local run=$1 deadline=$((SECONDS + LOAD_TIMEOUT))
  until grep -q 'tasks done' "$run/server.log"; do
    if ! kill -0 "$MASTER" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "the pool did not finish its tasks within ${LOAD_TIMEOUT}s:"
      tail -n 20 "$run/server.log"
      return 1
    fi
    sleep 0.5
  done
}

stop_server() {
  local sig=$1 deadline=$((SECONDS + 20))
  kill "-$sig" "$MASTER" 2>/dev/null || true
  while kill -0 "$MASTER" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  # what is left of the group the server started (its workers), by its id
  kill -KILL -- "-$MASTER" 2>/dev/null || true
  wait "$MASTER" 2>/dev/null || true
}

celery_cli() {
  local run=$1 recipe=$2 pythonpath=$3
  shift 3
  (cd "$EXAMPLES" && GCFREEZE_RECIPE=$recipe GCFREEZE_CELERY_DIR=$run/celery PYTHONPATH=$pythonpath \
    PYTHONDONTWRITEBYTECODE=1 timeout "$((LOAD_TIMEOUT + 10))" "$PY" celery_app.py "$@")
}

# One run of one server: start, load, snapshot, stop.  $run/status.json holds
# gcfreeze-status.py's rows.  Returns non-zero with a reason on stdout.
run_once() {
  local server=$1 recipe=$2 run=$3 pythonpath=$4 port rc=0
  rm -rf "$run" && mkdir -p "$run/status"
  port=$(free_port)
  # celery: queued before the worker starts (see examples/celery_app.py)
  if [[ $server == celery ]] && ! celery_cli "$run" "$recipe" "$pythonpath" send "$REQUESTS" >"$run/send.log" 2>&1; then
    echo "the tasks could not be queued:"
    tail -n 5 "$run/send.log"
    return 1
  fi
  case $server in
    prefork) start_server "$run" "$recipe" "$pythonpath" "$PY" prefork_server.py --port "$port" --workers "$WORKERS" ;;
    multiprocessing) start_server "$run" "$recipe" "$pythonpath" "$PY" mp_pool.py --workers "$WORKERS" --tasks "$REQUESTS" --hold ;;
    gunicorn) start_server "$run" "$recipe" "$pythonpath" "$PY" -m gunicorn -c gunicorn.conf.py \
      --bind "127.0.0.1:$port" --workers "$WORKERS" gunicorn_app:application ;;
    uwsgi) start_server "$run" "$recipe" "$pythonpath" env LD_LIBRARY_PATH="$UWSGI_LIBDIR" \
      uwsgi --plugin-dir "$UWSGI_PLUGIN_DIR" --plugin "$UWSGI_PLUGIN" --ini uwsgi.ini \
      --processes "$WORKERS" --http-socket "127.0.0.1:$port" ;;
    celery) start_server "$run" "$recipe" "$pythonpath" "$PY" -m celery -A celery_app worker \
      --pool prefork --concurrency "$WORKERS" --without-heartbeat --without-gossip --without-mingle \
      --loglevel WARNING ;;
  esac
  wait_reported "$run" || rc=1
  if [[ $rc -eq 0 ]]; then
    case $server in
      multiprocessing) wait_tasks_done "$run" || rc=1 ;;
      celery) celery_cli "$run" "$recipe" "$pythonpath" collect "$LOAD_TIMEOUT" >"$run/load.log" 2>&1 || rc=1 ;;
      *) "$PY" "$EXAMPLES/loadgen.py" "$port" "$REQUESTS" "$CONCURRENCY" "$LOAD_TIMEOUT" >"$run/load.log" 2>&1 || rc=1 ;;
    esac
    [[ $rc -eq 0 || ! -f $run/load.log ]] || { echo "the load failed:"; tail -n 5 "$run/load.log"; }
  fi
  if [[ $rc -eq 0 ]]; then
    sleep 0.5  # the last responses' pages
    "$PY" "$EXAMPLES/gcfreeze-status.py" --json --status-dir "$run/status" "$MASTER" >"$run/status.json" || rc=1
  fi
  case $server in
    gunicorn | uwsgi) stop_server INT ;;  # their quick shutdown
    *) stop_server TERM ;;
  esac
  return "$rc"
}

# The verdict on the two snapshots; prints the numbers.
compare() {
  "$PY" - "$1" "$2" "$WORKERS" "$GCFREEZE_DEMO_RECORDS" <<'EOF'
import json, sys
with_rows = [r for r in json.load(open(sys.argv[1])) if r["role"] == "worker"]
without_rows = [r for r in json.load(open(sys.argv[2])) if r["role"] == "worker"]
workers = int(sys.argv[3])
# each record of demo_app.py is at least 3 tracked objects (instance, its
# __dict__, a list): fewer frozen means the app was loaded after the freeze
min_frozen = 3 * int(sys.argv[4])
uss = lambda rows: sum(r["private_kb"] for r in rows) / 1024.0
counts = [r["freeze_count"] for r in with_rows]
problems = []
if len(with_rows) != workers or len(without_rows) != workers:
    problems.append("expected %d workers, found %d and %d" % (workers, len(with_rows), len(without_rows)))
if not all(counts):
    problems.append("a worker reports no freeze count or 0: %s" % counts)
elif min(counts) < min_frozen:
    problems.append("fewer than %d objects frozen: the application's heap was not" % min_frozen)
if any(r["freeze_count"] for r in without_rows):
    problems.append("a worker of the run without the recipe is frozen")
# the recipe keeps the heap shared: a saving of a few percent means the
# workers copied it anyway (the application loaded after the fork, say)
if not uss(with_rows) < uss(without_rows) / 2:
    problems.append("private memory is not below half of the run without the recipe")
print("freeze counts %s; workers' USS %.1f MB with the recipe, %.1f MB without" % (
    "/".join(str(c) for c in counts), uss(with_rows), uss(without_rows)))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# The runs with and without the recipe, compared; the last line says why
# it failed, or the numbers.
test_server() {
  local server=$1 pythonpath=$2 dir=$WORK/$PYV/$1 out
  if ! out=$(run_once "$server" 1 "$dir/recipe" "$pythonpath" 2>&1); then
    echo "with the recipe: ${out//$'\n'/ } (logs in $dir/recipe)"
    return 1
  fi
  if ! out=$(run_once "$server" 0 "$dir/without" "$pythonpath" 2>&1); then
    echo "without the recipe: ${out//$'\n'/ } (logs in $dir/without)"
    return 1
  fi
  if ! out=$(compare "$dir/recipe/status.json" "$dir/without/status.json" 2>&1); then
    echo "${out//$'\n'/ }"
    return 1
  fi
  echo "$WORKERS workers: ${out//$'\n'/ }"
}

# uWSGI: Debian's uwsgi binary with a python plugin built for this interpreter.
setup_uwsgi() {
  local tag
  need_packages uwsgi-core uwsgi-src libcap-dev libpcre3-dev python3-uwsgidecorators || skip "uWSGI: $MISSING_REASON"
  if ! "$PY" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
    skip "this interpreter has no Python.h to build uWSGI's python plugin with (Debian's python3: apt-get install python3-dev)"
  fi
  tag=$("$PY" -c 'import sys; print("python%d%d" % sys.version_info[:2])')
  UWSGI_PLUGIN=$tag
  UWSGI_PLUGIN_DIR=$WORK/$PYV/uwsgi-plugin
  # the plugin links libpythonX.Y without a run path; a LD_LIBRARY_PATH of
  # the caller's comes first (an interpreter run from its build tree)
  UWSGI_LIBDIR=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
  UWSGI_PYPATH=$WORK/$PYV/uwsgi-pypath
  mkdir -p "$UWSGI_PLUGIN_DIR" "$UWSGI_PYPATH"
  cp "$DEB_PY3/uwsgidecorators.py" "$UWSGI_PYPATH/"
  # rebuilt when the interpreter is newer than the plugin
  if [[ ! -f $UWSGI_PLUGIN_DIR/${tag}_plugin.so || $(readlink -f "$PY") -nt $UWSGI_PLUGIN_DIR/${tag}_plugin.so ]]; then
    # -O0 -g0 (after Debian's -O2): a test plugin, built in less CPU time
    if ! (cd "$UWSGI_PLUGIN_DIR" && CFLAGS="-O0 -g0" PYTHON=$PY nice -n 10 uwsgi --build-plugin "/usr/src/uwsgi/plugins/python $tag") \
        >"$UWSGI_PLUGIN_DIR/build.log" 2>&1 || [[ ! -f $UWSGI_PLUGIN_DIR/${tag}_plugin.so ]]; then
      echo "the python plugin did not build for this interpreter (see $UWSGI_PLUGIN_DIR/build.log)"
      return 1
    fi
  fi
}

# gunicorn: Debian's package directory, copied alone into a scratch PYTHONPATH.
setup_gunicorn() {
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 5))'; then
    skip "Debian 12's gunicorn 20.1.0 needs Python >= 3.5 (gunicorn 19 runs on 2.7 and 3.4 but is not in Debian 12, and PyPI is out of reach here)"
  fi
  need_packages python3-gunicorn || skip "gunicorn: $MISSING_REASON"
  if ! "$PY" -c 'import pkg_resources' 2>/dev/null; then
    skip "gunicorn 20.1 imports pkg_resources and this interpreter has no setuptools (build.sh installs it with ensurepip)"
  fi
  GUNICORN_PYPATH=$WORK/$PYV/gunicorn-pypath
  rm -rf "$GUNICORN_PYPATH" && mkdir -p "$GUNICORN_PYPATH"
  cp -r "$DEB_PY3/gunicorn" "$GUNICORN_PYPATH/"
  find "$GUNICORN_PYPATH" -name __pycache__ -prune -exec rm -rf {} +
}

setup_celery() {
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 7))'; then
    skip "Debian 12's celery 5.2.6, billiard 4.1.0 and kombu 5.2.4 need Python >= 3.7 (the celery 4 releases for 2.7-3.6 are not in Debian 12, and PyPI is out of reach here)"
  fi
  if ! "$PY" -c 'import celery' 2>/dev/null; then
    skip "celery does not import under this interpreter (Debian's python3-celery serves /usr/bin/python3)"
  fi
}

# server_check SERVER: in a check (ci/lib.sh), the server's setup for this
# interpreter (a skip with the reason when it cannot run here), then its runs.
server_check() {
  case $1 in
    prefork | multiprocessing) test_server "$1" "$EXAMPLES" ;;
    uwsgi) setup_uwsgi && test_server uwsgi "$UWSGI_PYPATH:$EXAMPLES" ;;
    gunicorn) setup_gunicorn && test_server gunicorn "$GUNICORN_PYPATH:$EXAMPLES" ;;
    celery) setup_celery && test_server celery "$EXAMPLES" ;;
  esac
}

test_python() {
  local py=$1 server
  PY=$py
  if ! PYV=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null); then
    fail "$py" "does not run"
    return 0
  fi
  if ! "$PY" -c 'import gc; gc.freeze' 2>/dev/null; then
    fail "$PYV ($py)" "has no gc.freeze(): not a gcfreeze build"
    return 0
  fi
  say "$PYV ($py)"
  mkdir -p "$WORK/$PYV"
  for server in prefork multiprocessing uwsgi gunicorn celery; do
    wanted "$server" || continue
    check "$server $PYV" "$WORK/$PYV/$server.log" server_check "$server"
    if ok; then note "      $(tail -n 1 "$WORK/$PYV/$server.log")"; fi
  done
}

wanted() { [[ $SERVERS == *" $1 "* ]]; }

main() {
  [[ $# -ge 1 ]] || die "usage: ci/test-recipes.sh PYTHON... (interpreters with gc.freeze(), e.g. /usr/local/bin/python2.7)"
  [[ -r /proc/self/smaps_rollup ]] || die "/proc/self/smaps_rollup is missing: Linux >= 4.14 with /proc mounted is needed"
  command -v setsid >/dev/null || die "setsid is missing: apt-get install util-linux"
  mkdir -p "$WORK"
  local py
  for py in "$@"; do
    test_python "$py"
  done
  summary
}

main "$@"
