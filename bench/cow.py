"""Child copy-on-write after one full collection, with and without gc.freeze().

usage: python bench/cow.py [--heap lists|objs|freelists] [--freeze] [--json]

Five children are forked one after the other from the same heap; the median
child (by collection time) is reported, and the largest copy of any child.
Collection time is the child's CPU time (user + system: copying pages counts).
Five more children run a young collection (gc.collect(1)) instead: what a full
collection copies beyond it (full - young, medians) is what the oldest
generation's extra work costs, clear_freelists() included.

The parent builds the heap with the collector disabled, optionally freezes,
and forks.  The child reads its Private_Dirty from /proc/self/smaps_rollup
*before* enabling the collector (enabling it first would let the next
allocation collect the whole young heap and hide the cost), runs one full
gc.collect(), and reads it again.  Runs on Python 2.7 and 3.x, stock or not.
"""
from __future__ import print_function

import gc
import json
import os
import sys
import time

# the objects heap and fill_free_lists() are shared with the Lib-tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Lib-tests"))
from gcheaps import fill_free_lists, object_heap as heap_objs  # noqa: E402

# CPU time of this process (user + system, so the page copies count): a
# collection of a few milliseconds measured in wall time is mostly noise on a
# busy machine.  time.clock() is process CPU time on 2.7 for Linux.
timer = getattr(time, "process_time", None) or time.clock


def private_dirty_kb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in /proc/self/smaps_rollup")


def heap_lists():
    # The PyCon 2018 slide: 16000 lists holding 640000 eight-byte strings.
    return [["%08d" % (i * 40 + j) for j in range(40)] for i in range(16000)]


def heap_freelists():
    # a small application heap; measure() fills the free lists last
    return heap_objs(20000)


HEAPS = {"lists": heap_lists, "objs": heap_objs, "freelists": heap_freelists}
# children forked from the same parent heap, one after the other
REPEAT = 5


def measure(heap_name, freeze):
    gc.disable()
    heap = HEAPS[heap_name]()
    gc_tracked = len(gc.get_objects())
    if heap_name == "freelists":
        fill_free_lists()
    if freeze:
        gc.freeze()
    children = [fork_child(2) for _ in range(REPEAT)]
    young = sorted(c["after_kb"] - c["before_kb"]
                   for c in (fork_child(1) for _ in range(REPEAT)))
    del heap
    full = sorted(c["after_kb"] - c["before_kb"] for c in children)
    # the median child: one forked child is a sample, not a measurement
    children.sort(key=lambda c: c["collect_s"])
    child = children[len(children) // 2]
    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "heap": heap_name,
        "frozen": bool(freeze),
        "tracked": gc_tracked,
        "children": len(children),
        "copied_mb": (child["after_kb"] - child["before_kb"]) / 1024.0,
        "copied_mb_max": max(c["after_kb"] - c["before_kb"] for c in children) / 1024.0,
        "collect_ms": child["collect_s"] * 1000.0,
        "young_copied_mb": young[len(young) // 2] / 1024.0,
        "full_minus_young_kb": full[len(full) // 2] - young[len(young) // 2],
    }


def fork_child(generation):
    """Fork one child that collects `generation` once; return what it
    measured."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        before = private_dirty_kb()
        t0 = timer()
        gc.collect(generation)
        took = timer() - t0
        after = private_dirty_kb()
        os.write(wfd, json.dumps({"before_kb": before, "after_kb": after,
                                  "collect_s": took}).encode())
        os._exit(0)
    os.close(wfd)
    data = b""
    while True:
        chunk = os.read(rfd, 4096)
        if not chunk:
            break
        data += chunk
    os.close(rfd)
    os.waitpid(pid, 0)
    return json.loads(data.decode())


def main(argv):
    heap = "objs"
    if "--heap" in argv:
        heap = argv[argv.index("--heap") + 1]
    freeze = "--freeze" in argv
    if freeze and not hasattr(gc, "freeze"):
        sys.exit("this interpreter has no gc.freeze()")
    result = measure(heap, freeze)
    if "--json" in argv:
        print(json.dumps(result))
    else:
        print("%(python)s heap=%(heap)s frozen=%(frozen)s tracked=%(tracked)d "
              "child copied %(copied_mb).2f MB (max of %(children)d: %(copied_mb_max).2f), "
              "full collection %(collect_ms).1f ms; young collection copied "
              "%(young_copied_mb).2f MB, full - young %(full_minus_young_kb)d KiB"
              % result)


if __name__ == "__main__":
    main(sys.argv[1:])
