"""A bounded stress test of gc.freeze(): seconds, not minutes.

Threads, finalizers, weakref callbacks, gc.callbacks (3.3+) and forked
children that fork again all freeze, unfreeze and collect at random while
the heap churns.  Afterwards every tracked object must be in exactly one
list, and get_freeze_count() must agree with a walk of the heap.

    python Lib-tests/test_stress.py -v
"""
from __future__ import print_function

import gc
import os
import random
import sys
import threading
import time
import unittest
import weakref

SECONDS = float(os.environ.get("GCFREEZE_STRESS_SECONDS", "3"))
THREADS = 4

class Node(object):
    pass


class Finalized(object):
    """Not part of any cycle (2.7 never collects cycles with __del__), but
    held by one: its __del__ runs while the collector frees the cycle."""

    def __init__(self, rng):
        self.rng = rng

    def __del__(self):
        random_gc_op(self.rng, allow_collect=False)


def random_gc_op(rng, allow_collect=True):
    op = rng.random()
    if op < 0.3:
        gc.freeze()
    elif op < 0.6:
        gc.unfreeze()
    elif op < 0.7:
        gc.get_freeze_count()
    elif allow_collect:
        gc.collect(rng.randint(0, 2))


def churn(rng, deadline, errors):
    """One thread's work: cycles with finalizers and weakref callbacks."""
    try:
        keep = []
        while time.time() < deadline:
            a, b = Node(), Node()
            a.peer, b.peer = b, a
            a.fin = Finalized(rng)
            a.ref = weakref.ref(b, lambda _r, rng=rng: random_gc_op(rng, allow_collect=False))
            keep.append([a, {"k": [b]}])
            if len(keep) > 200:
                del keep[:rng.randint(50, 200)]
            del a, b
            if rng.random() < 0.05:
                random_gc_op(rng)
    except Exception as exc:  # reported by the main thread
        errors.append(repr(exc))


def forked(body):
    """Run body() in a forked child that exits with what it returns (1 on an
    exception); the child's wait status."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            # The parent's random gc.callbacks entry would run here too and
            # could unfreeze between a child's freeze() and its count.
            if hasattr(gc, "callbacks"):
                del gc.callbacks[:]
            status = body()
        finally:
            os._exit(status)
    _, st = os.waitpid(pid, 0)
    return st


def fork_tree(rng):
    """Fork a child that freezes, collects and forks a grandchild; the
    exit statuses say whether each got through."""
    def grandchild():
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        gc.collect()
        return 0 if gc.get_freeze_count() > 0 else 3

    def child():
        gc.freeze()
        gc.collect()
        st = forked(grandchild)
        gc.unfreeze()
        gc.collect()
        return 0 if st == 0 else 2

    return forked(child)


def heap_is_consistent(test):
    """Every tracked object in exactly one list; get_freeze_count() agrees;
    unfreeze() gives back every frozen object."""
    gc.collect()
    # Hold every tracked object, so that none dies during the check (a
    # finished thread's last frames may still be on their way out).
    before = gc.get_objects()
    gc.freeze()
    frozen = gc.get_freeze_count()
    objs = gc.get_objects()
    # As in CPython 3.7: frozen objects are not listed, and nothing else is
    # tracked right after freeze().
    test.assertEqual(len(objs), 0, "young generations not empty after freeze()")
    del objs
    test.assertGreaterEqual(frozen, len(before))
    gc.unfreeze()
    test.assertEqual(gc.get_freeze_count(), 0)
    young = gc.get_objects()
    ids = set(id(o) for o in young)
    test.assertEqual(len(ids), len(young), "an object is in two lists")
    missing = len([o for o in before if id(o) not in ids])
    test.assertEqual(missing, 0, "%d frozen objects did not come back" % missing)


class StressTest(unittest.TestCase):

    def setUp(self):
        self.assertTrue(hasattr(gc, "freeze"),
                        "this interpreter has no gc.freeze(): build it with ./build.sh")
        self.addCleanup(gc.unfreeze)
        self.addCleanup(gc.set_threshold, *gc.get_threshold())
        was_enabled = gc.isenabled()
        self.addCleanup(gc.enable if was_enabled else gc.disable)
        if hasattr(gc, "callbacks"):
            saved = list(gc.callbacks)
            self.addCleanup(lambda: gc.callbacks.__setitem__(slice(None), saved))
        if hasattr(sys, "setswitchinterval"):
            self.addCleanup(sys.setswitchinterval, sys.getswitchinterval())
            sys.setswitchinterval(1e-5)
        else:
            self.addCleanup(sys.setcheckinterval, sys.getcheckinterval())
            sys.setcheckinterval(10)

    def test_mixed_stress(self):
        gc.enable()
        gc.set_threshold(50, 5, 5)  # many automatic collections
        seed = int(os.environ.get("GCFREEZE_STRESS_SEED", random.randrange(1 << 30)))
        print("stress seed %d (set GCFREEZE_STRESS_SEED to repeat)" % seed, file=sys.stderr)
        master = random.Random(seed)
        if hasattr(gc, "callbacks"):
            cb_rng = random.Random(master.random())

            def callback(phase, info):
                if cb_rng.random() < 0.2:
                    random_gc_op(cb_rng, allow_collect=False)
            gc.callbacks.append(callback)

        deadline = time.time() + SECONDS
        errors = []
        threads = [threading.Thread(target=churn, args=(random.Random(master.random()), deadline, errors))
                   for _ in range(THREADS)]
        for t in threads:
            t.start()
        statuses = []
        main_rng = random.Random(master.random())
        while time.time() < deadline:
            random_gc_op(main_rng)
            if hasattr(os, "fork") and len(statuses) < 6 and main_rng.random() < 0.05:
                statuses.append(fork_tree(main_rng))
            time.sleep(0.001)
        for t in threads:
            t.join(SECONDS + 30)
            self.assertFalse(t.is_alive(), "a stress thread did not finish")
        if hasattr(gc, "callbacks"):
            gc.callbacks.remove(callback)
        gc.disable()
        self.assertEqual(errors, [])
        self.assertEqual([s for s in statuses if s != 0], [],
                         "forked children (statuses %r) did not all exit 0" % statuses)
        heap_is_consistent(self)


if __name__ == "__main__":
    unittest.main()
