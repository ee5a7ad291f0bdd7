#!/usr/bin/env python3
"""Is it working?  Freeze count and shared/private memory of a master and its workers.

usage: gcfreeze-status.py [--json] [--status-dir DIR] MASTER_PID

Prints one row for the master and one per child process (its workers), then
the workers' sums.  Memory comes from /proc/PID/smaps_rollup and works for any
process you may ptrace (your own, or all as root):
  SHARED  = Shared_Clean + Shared_Dirty   pages other processes map too
  PRIVATE = Private_Clean + Private_Dirty pages only this process maps (USS)
  PSS     = each page divided by the number of processes mapping it
The freeze count and collector state come from the file gcfreeze_report.report()
writes in the process (see gcfreeze_report.py): a process that never called it
shows "-".  No tool can read gc.get_freeze_count() of an arbitrary running
Python from outside without attaching a debugger.  Runs on Python 2.7 and 3.x.
"""
from __future__ import print_function

import json
import os
import sys

FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean",
          "Private_Dirty", "Swap")


def memory_kb(pid):
    """The smaps_rollup fields in kB (summed over smaps on kernels < 4.14)."""
    values = dict((f, 0) for f in FIELDS)
    path = "/proc/%d/smaps_rollup" % pid
    if not os.path.exists(path):
        path = "/proc/%d/smaps" % pid
    with open(path) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in values:
                values[name] += int(rest.split()[0])
    return {"rss_kb": values["Rss"], "pss_kb": values["Pss"],
            "shared_kb": values["Shared_Clean"] + values["Shared_Dirty"],
            "private_kb": values["Private_Clean"] + values["Private_Dirty"],
            "swap_kb": values["Swap"]}


def stat_fields(pid):
    """(ppid, start time) from /proc/PID/stat; the name may hold spaces."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19])


def children(master):
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if stat_fields(int(name))[0] == master:
                    pids.append(int(name))
            except (IOError, OSError):
                pass  # exited meanwhile
    return sorted(pids)


def reported(pid, status_dir):
    """The state gcfreeze_report.report() wrote for this very process, or None."""
    try:
        with open(os.path.join(status_dir, "%d.json" % pid)) as f:
            state = json.load(f)
        if state.get("start_time") != stat_fields(pid)[1]:
            return None  # written by an earlier process with the same pid
        return state
    except (IOError, OSError, ValueError):
        return None


def collect(master, status_dir):
    rows = []
    for role, pid in [("master", master)] + [("worker", p) for p in children(master)]:
        try:
            row = {"pid": pid, "role": role}
            row.update(memory_kb(pid))
        except (IOError, OSError) as e:
            if role != "master":
                continue  # a worker that exited meanwhile
            if not os.path.exists("/proc/%d" % pid):
                raise SystemExit("gcfreeze-status: no process %d" % pid)
            raise SystemExit("gcfreeze-status: cannot read process %d: %s "
                             "(run as its user or as root)" % (pid, e))
        state = reported(pid, status_dir)
        row["freeze_count"] = state and state.get("freeze_count")
        row["gc_enabled"] = state and state.get("gc_enabled")
        rows.append(row)
    return rows


def main(argv):
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    status_dir = os.environ.get("GCFREEZE_STATUS_DIR") or "/tmp/gcfreeze-status-%d" % os.getuid()
    if "--status-dir" in argv:
        i = argv.index("--status-dir")
        status_dir = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) != 1 or not argv[0].isdigit():
        sys.exit(__doc__.strip().splitlines()[2])
    rows = collect(int(argv[0]), status_dir)
    if as_json:
        print(json.dumps(rows))
        return
    mb = lambda kb: "%.1f" % (kb / 1024.0)
    print("%-8s %-7s %10s %4s %8s %8s %10s %11s" % (
        "PID", "ROLE", "FROZEN", "GC", "RSS MB", "PSS MB", "SHARED MB", "PRIVATE MB"))
    for r in rows:
        frozen = "-" if r["freeze_count"] is None else str(r["freeze_count"])
        gc_state = "-" if r["gc_enabled"] is None else ("on" if r["gc_enabled"] else "off")
        print("%-8d %-7s %10s %4s %8s %8s %10s %11s" % (
            r["pid"], r["role"], frozen, gc_state, mb(r["rss_kb"]), mb(r["pss_kb"]),
            mb(r["shared_kb"]), mb(r["private_kb"])))
    workers = [r for r in rows if r["role"] == "worker"]
    frozen = [r for r in workers if r["freeze_count"]]
    print("%d workers, %d report a non-zero freeze count; workers' private (USS) "
          "%s MB, PSS %s MB in all" % (
              len(workers), len(frozen), mb(sum(r["private_kb"] for r in workers)),
              mb(sum(r["pss_kb"] for r in workers))))


if __name__ == "__main__":
    main(sys.argv[1:])
