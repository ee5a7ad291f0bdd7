#!/usr/bin/env bash
# bench/speed.sh — how fast interpreters run CPU-bound pure Python, side by
# side: bench/workloads/cpu.py (a pystone-like loop, json round trips, regex)
# in each, CPU time, paired runs interleaved (run i of every interpreter, in
# a rotating order, before run i+1 of any), the median of N, and each one's
# ratio to the first interpreter named (the median of the per-run ratios:
# lower is faster).  See --help.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=packaging/chroot.sh
. "$TOP/packaging/chroot.sh"
WORKLOAD=$TOP/bench/workloads/cpu.py
RUNS=9
SCALE=1
PARTS=pystone,json,regex
ROOT_BASE=${GCFREEZE_SPEED_ROOTS:-/var/tmp/gcfreeze-speed}
FRESH_ROOTS=0
SCALE_SET=0 # --scale given (--instructions has its own default)
COUNT=0   # --instructions: count instructions with cachegrind instead of timing
WRAP=()   # what runs each interpreter: nothing, or cachegrind (irefs)
LABELS=() # one per interpreter, in the order given
KINDS=()  # host | SUITE (a Debian root)
EXES=()   # the interpreter: a path on the host, or an executable in the root

usage() {
  cat <<EOF
Usage: bench/speed.sh [options] INTERPRETER INTERPRETER...

Runs bench/workloads/cpu.py in every INTERPRETER, RUNS times each, paired
and interleaved, and prints the median CPU seconds of each part and the
ratio of each interpreter to the FIRST one (lower is faster).

INTERPRETER is one of:
  [LABEL=]PATH          an interpreter on this machine (an installed one, or
                        a build tree's ./python: its libpython next to it is
                        used)
  [LABEL=]debianNN[:EXE]
                        a Debian NN (11, 12, 13) package's interpreter, run
                        in a debootstrapped Debian NN root where
                        'apt-get install EXE' put /usr/bin/EXE (default EXE:
                        python2.7).  Needs root.  The root is made once from
                        the cached minbase tarball (packaging/chroot.sh) and
                        kept in $ROOT_BASE/SUITE for the next run.  The root
                        runs the very same cpu.py (bind-mounted).
  [LABEL=]debianNN:/PATH
                        an interpreter at /PATH in that root: one that
                        build.sh built there, say, with the root's compiler
                        and C library, as a Debian NN package of ours would be

Options:
  --runs N      runs per interpreter (default: $RUNS)
  --scale X     work per run, relative to the default (~2 s of CPU on a quick
                2.7 build) (default: $SCALE)
  --parts LIST  parts of cpu.py to run, comma-separated (default: $PARTS)
  --fresh-roots make the Debian roots again (a new apt-get install)
  --instructions
                count the instructions each part executes (valgrind's
                cachegrind, in the host or the root) instead of timing it: one
                run each, the same number every time, so a noisy machine does
                not blur a few per cent; what it does not see is the cost of
                cache misses and mispredicted branches, which PGO also lowers.
                Each part's count is its run at --scale (default here: 0.1)
                less a run at a negligible scale (start-up and imports).
  -h, --help    this text

Example (2.7: our optimized build against Debian 11's own python2.7):
  nice -n 10 bench/speed.sh debian11 ours=/opt/gcfreeze/python2.7/bin/python2.7
EOF
}

die() {
  printf 'speed.sh: error: %s\n' "$1" >&2
  exit "${2:-1}"
}
usage_error() { die "$1 (see bench/speed.sh --help)" 2; }

# debianNN → the suite's code name
suite_of() {
  case $1 in
    debian11) echo bullseye ;;
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *) return 1 ;;
  esac
}

add_interpreter() {
  local spec=$1 label exe suite
  label=${spec%%=*}
  [[ "$label" != "$spec" ]] || label=
  spec=${spec#*=}
  if suite=$(suite_of "${spec%%:*}"); then
    exe=python2.7
    [[ "$spec" != *:* ]] || exe=${spec#*:}
    # a package's /usr/bin/EXE, or an absolute path: one built in the root
    [[ "$exe" =~ ^python[0-9.]+$ || "$exe" == /* ]] || usage_error "$spec: the executable in the root is a Debian package name such as python2.7 or python3.9, or an absolute path in the root"
    [[ "$exe" == /* ]] || exe=/usr/bin/$exe
    LABELS+=("${label:-${spec%%:*}-$(basename "$exe")}") KINDS+=("$suite") EXES+=("$exe")
  else
    [[ -x "$spec" && -f "$spec" ]] || usage_error "$spec is not an executable file: give the path of an interpreter, or debian11[:python2.7]"
    LABELS+=("${label:-$spec}") KINDS+=(host) EXES+=("$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")")
  fi
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --runs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--runs needs a positive number"; RUNS=$2; shift ;;
      --scale) SCALE_SET=1; [[ $# -ge 2 && $2 =~ ^[0-9]*\.?[0-9]+$ && ! $2 =~ ^0*\.?0*$ ]] || usage_error "--scale needs a positive number such as 0.5"; SCALE=$2; shift ;;
      --parts) [[ $# -ge 2 && $2 =~ ^(pystone|json|regex)(,(pystone|json|regex))*$ ]] || usage_error "--parts takes a comma-separated list of pystone, json, regex"; PARTS=$2; shift ;;
      --fresh-roots) FRESH_ROOTS=1 ;;
      --instructions) COUNT=1 ;;
      -*) usage_error "unknown option $1" ;;
      *) add_interpreter "$1" ;;
    esac
    shift
  done
  [[ ${#LABELS[@]} -ge 2 ]] || usage_error "name at least two interpreters to compare"
  if [[ $COUNT -eq 1 ]]; then
    command -v valgrind >/dev/null || die "--instructions needs valgrind: apt-get install valgrind"
    [[ $SCALE_SET -eq 1 ]] || SCALE=0.1
    RUNS=1 # the count is the same every time
  fi
  local i
  for i in "${!KINDS[@]}"; do
    [[ "${KINDS[$i]}" == host || $(id -u) -eq 0 ]] || die "${LABELS[$i]} runs in a Debian root, which needs root: run bench/speed.sh with sudo"
  done
}

# --- Debian roots ---------------------------------------------------------

# root_install ROOT LOG PACKAGE: apt-get install PACKAGE in ROOT.
root_install() {
  in_root "$1" sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $3" >>"$2" 2>&1 ||
    { tail -n 15 "$2" >&2; die "apt-get install $3 failed in the root $1 (log: $2)"; }
}

# The root of SUITE with EXE installed (made once, kept), cpu.py's directory
# bind-mounted at the same path as here.
prepare_root() {
  local suite=$1 exe=$2 root=$ROOT_BASE/$1 tar log
  log=$ROOT_BASE/$suite-apt.log
  mkdir -p "$ROOT_BASE"
  if [[ "$exe" != /usr/bin/* ]]; then
    # built in the root by hand: nothing to install
    [[ -x "$root$exe" ]] || die "$root has no $exe: build it there first (bench/speed.sh --help)"
    mount_root "$root"
  elif [[ $FRESH_ROOTS -eq 1 || ! -x "$root$exe" ]]; then
    exe=${exe#/usr/bin/}
    tar=$(cached_root_tar "$suite") || die "no $suite root tarball: see the debootstrap log in $ROOTFS_CACHE"
    printf '==> %s root: apt-get install %s (once; kept in %s)\n' "$suite" "$exe" "$root" >&2
    fresh_root "$root" "$tar" || die "cannot make $root: unmount what is left in it, or remove it"
    : >"$log"
    root_install "$root" "$log" "$exe"
    [[ -x "$root/usr/bin/$exe" ]] || die "the $suite package $exe has no /usr/bin/$exe: name the executable, e.g. debian11:python3.9"
  else
    mount_root "$root"
  fi
  if [[ $COUNT -eq 1 && ! -x "$root/usr/bin/valgrind" ]]; then
    printf '==> %s root: apt-get install valgrind (once; kept)\n' "$suite" >&2
    root_install "$root" "$log" valgrind
  fi
  local dir
  dir=$(dirname "$WORKLOAD")
  mkdir -p "$root$dir"
  mountpoint -q "$root$dir" || mount --bind -o ro "$dir" "$root$dir"
}

# --- runs -----------------------------------------------------------------

# py I ARGS...: run interpreter I with ARGS, in a clean environment.
py() {
  local i=$1 exe=${EXES[$1]} kind=${KINDS[$1]}
  shift
  if [[ "$kind" == host ]]; then
    local env=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME=/tmp)
    # a build tree's ./python finds its libpython next to it
    if compgen -G "$(dirname "$exe")/libpython*.so*" >/dev/null; then env+=("LD_LIBRARY_PATH=$(dirname "$exe")"); fi
    env -i "${env[@]}" "${WRAP[@]}" "$exe" "$@"
  else
    in_root "$ROOT_BASE/$kind" "${WRAP[@]}" "$exe" "$@"
  fi
}

# run_one I: one run of interpreter I; prints cpu.py's lines.
run_one() { py "$1" -E "$WORKLOAD" --scale "$SCALE" --parts "$PARTS"; }

# Name each interpreter, and run it once (not counted: files come into the
# page cache, and a broken one stops us here).
describe() {
  local i where version
  for i in "${!LABELS[@]}"; do
    where=${EXES[$i]}
    [[ "${KINDS[$i]}" == host ]] || where="$where in the ${KINDS[$i]} root"
    version=$(py "$i" -c 'import sys; print(sys.version.split()[0])') || die "${LABELS[$i]} ($where) does not start"
    run_one "$i" >/dev/null || die "${LABELS[$i]} failed on $WORKLOAD: run it by hand to see why"
    printf '    %-24s Python %s, %s\n' "${LABELS[$i]}" "$version" "$where" >&2
  done
}

# RESULTS: "RUN LABEL-INDEX PART SECONDS CHECKSUM" lines.
run_all() {
  local n=${#LABELS[@]} run k i out
  for ((run = 1; run <= RUNS; run++)); do
    printf '    run %d/%d\n' "$run" "$RUNS" >&2
    for ((k = 0; k < n; k++)); do
      i=$(((run + k) % n)) # a rotating order: none always goes first
      out=$(run_one "$i") || die "${LABELS[$i]} failed on $WORKLOAD: run it by hand to see why"
      awk -v r="$run" -v i="$i" 'NF >= 2 { print r, i, $1, $2, (NF >= 3 ? $3 : "-") }' <<<"$out" >>"$RESULTS"
    done
  done
}

# irefs I SCALE PART: millions of instructions interpreter I executes running
# PART of cpu.py at SCALE, start-up included; its checksum after a space.
irefs() {
  local out n sum WRAP=(valgrind --tool=cachegrind --cache-sim=no --trace-children=yes --cachegrind-out-file=/dev/null)
  out=$(py "$1" -E "$WORKLOAD" --scale "$2" --parts "$3" 2>&1) || { printf '%s\n' "$out" | tail -n 5 >&2; return 1; }
  n=$(sed -n 's/^==[0-9]*== I *refs: *//p' <<<"$out" | tr -d ,)
  sum=$(awk -v p="$3" '$1 == p && NF >= 3 { print $3 }' <<<"$out")
  [[ $n =~ ^[0-9]+$ ]] || return 1
  echo "$((n / 1000000)) ${sum:--}"
}

# RESULTS for --instructions: one "run", counts in millions instead of seconds.
count_all() {
  local i part full base n total
  for i in "${!LABELS[@]}"; do
    printf '    counting %s\n' "${LABELS[$i]}" >&2
    total=0
    for part in ${PARTS//,/ }; do
      if ! { full=$(irefs "$i" "$SCALE" "$part") && base=$(irefs "$i" 0.000001 "$part"); }; then
        die "${LABELS[$i]} failed under cachegrind on $part: run it by hand to see why"
      fi
      n=$((${full%% *} - ${base%% *}))
      echo "1 $i $part $n ${full#* }" >>"$RESULTS"
      total=$((total + n))
    done
    echo "1 $i total $total -" >>"$RESULTS"
  done
}

# Every interpreter must compute the same checksums as the first.
check_results() {
  local bad
  bad=$(awk '$3 != "total" { key = $1 " " $3; if (!(key in want)) want[key] = $5; else if (want[key] != $5) print $3 }' "$RESULTS" | sort -u)
  [[ -z "$bad" ]] || die "the interpreters disagree on the result of: $bad (see $RESULTS): they do not run the same computation"
}

# The table: median CPU seconds per part and interpreter, then the ratio to
# the first interpreter (the median of the per-run ratios).
report() {
  local labels
  labels=$(printf '%s\n' "${LABELS[@]}")
  awk -v runs="$RUNS" -v labels="$labels" -v count="$COUNT" '
    function median(arr, m,   i, j, t) {
      for (i = 2; i <= m; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
      return m % 2 ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2
    }
    BEGIN { n = split(labels, label, "\n") }
    { t[$2, $3, $1] = $4; if (!($3 in seen)) { seen[$3] = 1; part[++np] = $3 } }
    END {
      if (count) printf "millions of instructions executed (cachegrind), start-up subtracted; ratio to %s (lower is less work)\n", label[1]
      else printf "CPU seconds, median of %d paired runs; ratio = median of the per-run ratios to %s (lower is faster)\n", runs, label[1]
      printf "%-40s", "interpreter"
      for (p = 1; p <= np; p++) printf " %9s", part[p]
      printf " %9s\n", "ratio"
      for (i = 1; i <= n; i++) {
        printf "%-40s", label[i]
        for (p = 1; p <= np; p++) {
          for (r = 1; r <= runs; r++) v[r] = t[i - 1, part[p], r]
          fmt = count ? " %9d" : " %9.3f"
          printf fmt, median(v, runs)
        }
        for (r = 1; r <= runs; r++) v[r] = t[i - 1, "total", r] / t[0, "total", r]
        printf " %9.3f\n", median(v, runs)
      }
      printf "ratio per part (median of per-run ratios):\n"
      for (i = 2; i <= n; i++) {
        printf "%-40s", label[i]
        for (p = 1; p <= np; p++) {
          for (r = 1; r <= runs; r++) v[r] = t[i - 1, part[p], r] / t[0, part[p], r]
          printf " %9.3f", median(v, runs)
        }
        printf "\n"
      }
    }' "$RESULTS"
}

main() {
  parse_args "$@"
  trap unmount_all EXIT
  local i
  for i in "${!KINDS[@]}"; do
    [[ "${KINDS[$i]}" == host ]] || prepare_root "${KINDS[$i]}" "${EXES[$i]}"
  done
  RESULTS=$(mktemp "${TMPDIR:-/tmp}/gcfreeze-speed.XXXXXX")
  if [[ $COUNT -eq 1 ]]; then
    printf '==> instructions of %s (scale %s) in %d interpreters\n' "${WORKLOAD#"$TOP"/}" "$SCALE" "${#LABELS[@]}" >&2
  else
    printf '==> %d runs of %s (scale %s) in %d interpreters\n' "$RUNS" "${WORKLOAD#"$TOP"/}" "$SCALE" "${#LABELS[@]}" >&2
  fi
  describe
  if [[ $COUNT -eq 1 ]]; then count_all; else run_all; fi
  check_results
  report
  echo "(raw runs: $RESULTS)"
}

main "$@"
