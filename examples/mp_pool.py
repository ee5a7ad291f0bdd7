"""multiprocessing.Pool with the gc.freeze() recipe (fork start method).

usage: python mp_pool.py [--workers N] [--tasks N] [--hold]

The parent loads the application, freezes, starts the pool and maps TASKS
requests over it.  --hold keeps the pool alive after the tasks, until SIGTERM
or SIGINT, so that gcfreeze-status.py can look at it.  GCFREEZE_RECIPE=0
runs the same without the recipe.  Python 2.7 and 3.x.
"""
from __future__ import print_function

import gc
import os

RECIPE = os.environ.get("GCFREEZE_RECIPE", "1") != "0"
if RECIPE:
    gc.disable()  # 1. first thing: no holes in the heap the workers will share

import multiprocessing
import signal
import sys

import demo_app
import gcfreeze_report


def init_worker():
    # Pool(initializer=...) runs in each worker right after fork.
    if RECIPE:
        gc.enable()  # 3. the worker collects its own garbage, never the frozen heap
    gcfreeze_report.report("worker")


def task(i):
    return len(demo_app.handle("/task/%d" % i))


class Stop(Exception):
    pass


def stop(signum, frame):
    raise Stop()


def main(argv):
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 4
    tasks = int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else 300
    demo_app.load()
    # Only "fork" shares the parent's heap: "spawn" and "forkserver" start
    # each worker from a fresh interpreter, and freezing does nothing for
    # them.  fork is the default on Linux up to 3.13; 2.7 has no other.
    ctx = multiprocessing.get_context("fork") if hasattr(multiprocessing, "get_context") else multiprocessing
    if RECIPE:
        gc.freeze()  # 2. right before the pool forks its workers
    pool = ctx.Pool(workers, initializer=init_worker)
    if RECIPE:
        # The parent goes on working: let it collect again.  Its collections
        # skip the frozen objects too, and workers the pool replaces later
        # (maxtasksperchild) still inherit the frozen heap.
        gc.enable()
    gcfreeze_report.report("master")
    try:
        sizes = pool.map(task, range(tasks), chunksize=1)
        print("%d tasks done, %d workers" % (len(sizes), workers))
        sys.stdout.flush()
        if "--hold" in argv:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            while True:
                signal.pause()
    except Stop:
        pass
    finally:
        pool.terminate()
        pool.join()


if __name__ == "__main__":
    main(sys.argv[1:])
