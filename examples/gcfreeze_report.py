"""Write this process's collector state where gcfreeze-status.py finds it.

Call report() in the master right after gc.freeze() and in each worker right
after gc.enable() (the post-fork hook).  It writes one small JSON file,
<dir>/<pid>.json, with gc.get_freeze_count(), gc.isenabled() and the process
start time (so a reused pid is not mistaken for this process).  <dir> is
$GCFREEZE_STATUS_DIR, or /tmp/gcfreeze-status-<uid>.

The file is a snapshot taken when report() ran: the freeze count only changes
if the process calls gc.freeze() or gc.unfreeze() again, so a worker's value
stays right, but call report() again after such a call.  Python 2.7 and 3.x.
"""
import gc
import json
import os
import sys


def status_dir():
    return os.environ.get("GCFREEZE_STATUS_DIR") or "/tmp/gcfreeze-status-%d" % os.getuid()


def start_time(pid):
    """Field 22 of /proc/PID/stat: start time in clock ticks since boot."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    # the command name (field 2) may hold spaces: split after its ')'
    return int(stat[stat.rindex(")") + 2:].split()[19])


def report(role):
    """Record this process's role and collector state; never raises."""
    try:
        d = status_dir()
        if not os.path.isdir(d):
            try:
                os.makedirs(d, 0o700)
            except OSError:
                pass  # another worker made it first
        if os.stat(d).st_uid != os.getuid():
            return  # someone else's directory in /tmp: write nothing there
        pid = os.getpid()
        state = {
            "pid": pid,
            "ppid": os.getppid(),
            "start_time": start_time(pid),
            "role": role,
            "python": "%d.%d.%d" % sys.version_info[:3],
            "freeze_count": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else None,
            "gc_enabled": gc.isenabled(),
        }
        tmp = os.path.join(d, ".%d.tmp" % pid)
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.rename(tmp, os.path.join(d, "%d.json" % pid))  # atomic for readers
    except Exception as e:  # reporting must never take a worker down
        sys.stderr.write("gcfreeze_report: %s\n" % (e,))
