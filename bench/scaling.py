"""Full-collection time against heap size, frozen and not.

usage: python bench/scaling.py [--young N] [--json]

For each heap size (10k to 2M tracked objects) the heap is built with the
collector disabled, optionally frozen, then N young objects (default 10000)
are made and one full gc.collect() is timed (best of 3).  Frozen, the time
should depend on the young objects only.
"""
from __future__ import print_function

import gc
import json
import sys
import time

# CPU time of this process (user + system, so the page copies count): a
# collection of a few milliseconds measured in wall time is mostly noise on a
# busy machine.  time.clock() is process CPU time on 2.7 for Linux.
timer = getattr(time, "process_time", None) or time.clock
SIZES = [10000, 100000, 500000, 1000000, 2000000]


def build(n):
    # pairs of lists referring to each other: 2 tracked objects per step
    out = []
    for _ in range(n // 2):
        a = []
        b = [a]
        a.append(b)
        out.append(a)
    return out


def time_full_collection(size, frozen, young):
    gc.disable()
    gc.collect()
    heap = build(size)
    if frozen:
        gc.freeze()
    best = None
    for _ in range(3):
        fresh = build(young)
        t0 = timer()
        gc.collect()
        took = timer() - t0
        best = took if best is None else min(best, took)
        del fresh
    if frozen:
        gc.unfreeze()
    del heap
    gc.collect()
    return best * 1000.0


def main(argv):
    young = int(argv[argv.index("--young") + 1]) if "--young" in argv else 10000
    modes = [False, True] if hasattr(gc, "freeze") else [False]
    rows = []
    for size in SIZES:
        for frozen in modes:
            ms = time_full_collection(size, frozen, young)
            rows.append({"python": "%d.%d.%d" % sys.version_info[:3], "heap": size,
                         "young": young, "frozen": frozen, "collect_ms": ms})
            if "--json" in argv:
                print(json.dumps(rows[-1]))
            else:
                print("%s heap=%-8d young=%d frozen=%-5s full collection %8.2f ms"
                      % (rows[-1]["python"], size, young, frozen, ms))
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
