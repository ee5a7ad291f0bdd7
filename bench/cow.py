"""Child copy-on-write after one full collection, with and without gc.freeze().

usage: python bench/cow.py [--heap lists|objs] [--freeze] [--json]

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

timer = getattr(time, "perf_counter", time.time)


def private_dirty_kb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in /proc/self/smaps_rollup")


def heap_lists():
    # The PyCon 2018 slide: 16000 lists holding 640000 eight-byte strings.
    return [["%08d" % (i * 40 + j) for j in range(40)] for i in range(16000)]


class Node(object):
    pass


def heap_objs(n=200000):
    # n instances with dict attributes, linked in one big cycle: each node
    # brings its instance, its __dict__, a list and a tuple (4 tracked objects).
    nodes = []
    prev = None
    for i in range(n):
        node = Node()
        node.index = i
        node.prev = prev
        node.children = [prev]
        node.pair = (node, i)
        nodes.append(node)
        prev = node
    nodes[0].prev = prev
    return nodes


HEAPS = {"lists": heap_lists, "objs": heap_objs}


def measure(heap_name, freeze):
    gc.disable()
    heap = HEAPS[heap_name]()
    gc_tracked = len(gc.get_objects())
    if freeze:
        gc.freeze()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        before = private_dirty_kb()
        t0 = timer()
        gc.collect()
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
    child = json.loads(data.decode())
    del heap
    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "heap": heap_name,
        "frozen": bool(freeze),
        "tracked": gc_tracked,
        "copied_mb": (child["after_kb"] - child["before_kb"]) / 1024.0,
        "collect_ms": child["collect_s"] * 1000.0,
    }


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
              "child copied %(copied_mb).2f MB, full collection %(collect_ms).1f ms" % result)


if __name__ == "__main__":
    main(sys.argv[1:])
