"""Behaviour tests for gc.freeze(), gc.unfreeze() and gc.get_freeze_count().

One file for every interpreter: the patched 2.7, 3.4, 3.5 and 3.6 builds of
this project, and CPython >= 3.7, which has the API upstream (bpo-31558).
On an interpreter without gc.freeze() every test fails.

    python Lib-tests/test_gcfreeze.py -v
    python -m unittest discover -s Lib-tests -p 'test_*.py'
"""
from __future__ import print_function

import gc
import os
import re
import subprocess
import sys
import threading
import traceback
import unittest
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcheaps import in_child, run_module_tests  # noqa: E402

HAVE_FREEZE = all(hasattr(gc, name)
                  for name in ('freeze', 'unfreeze', 'get_freeze_count'))
NO_FREEZE = ("this interpreter has no gc.freeze(): build it with ./build.sh "
             "(%s)" % sys.executable)

# The line CPython 3.7's Modules/gcmodule.c prints under gc.DEBUG_STATS at
# each collection, right after "gc: objects in each generation: ...".
PERMANENT_STATS_LINE = re.compile(r"^gc: objects in permanent generation: (\d+)$")


class Node(object):
    """A weak-referenceable, GC-tracked object to build cycles with."""


def make_cycle(payload=None):
    """Build an unreachable two-node cycle; return weakrefs to its nodes.

    Built in a helper so that no local variable of the caller keeps the
    nodes alive."""
    first = Node()
    second = Node()
    first.peer = second
    second.peer = first
    first.payload = payload
    return (weakref.ref(first), weakref.ref(second))


def alive(refs):
    return [r() is not None for r in refs]


def all_alive(refs):
    return all(alive(refs))


def all_dead(refs):
    return not any(alive(refs))


class GCFreezeTest(unittest.TestCase):

    def setUp(self):
        if not HAVE_FREEZE:
            return
        was_enabled = gc.isenabled()
        threshold = gc.get_threshold()
        ngarbage = len(gc.garbage)
        callbacks = list(getattr(gc, 'callbacks', ()))

        def restore():
            gc.unfreeze()
            if hasattr(gc, 'callbacks'):
                gc.callbacks[:] = callbacks
            del gc.garbage[ngarbage:]
            gc.set_threshold(*threshold)
            if was_enabled:
                gc.enable()
            else:
                gc.disable()
        self.addCleanup(restore)
        # No automatic collection moves or frees objects behind a test's
        # back; the tests that want it turn it on themselves.
        gc.disable()
        gc.collect()

    def need_freeze(self):
        if not HAVE_FREEZE:
            self.fail(NO_FREEZE)

    def assert_consistent(self, frozen):
        """Check the permanent generation after freeze()/unfreeze() ran from
        an unusual place, then walk the lists through a fresh round trip."""
        count = gc.get_freeze_count()
        if frozen:
            self.assertGreater(count, 0)
        else:
            self.assertEqual(count, 0)
        self.assert_walk(count)
        gc.freeze()
        count = gc.get_freeze_count()
        self.assertGreater(count, 0)
        self.assert_walk(count)
        gc.unfreeze()
        self.assertEqual(gc.get_freeze_count(), 0)
        gc.collect()
        self.assertEqual(gc.get_freeze_count(), 0)

    def assert_walk(self, count):
        objs = gc.get_objects()
        try:
            self.assertEqual(len(set(map(id, objs))), len(objs),
                             "gc.get_objects() lists an object twice")
        finally:
            del objs

    # 1
    def test_freeze_then_unfreeze_count(self):
        self.need_freeze()
        gc.freeze()
        self.assertGreater(gc.get_freeze_count(), 0)
        gc.unfreeze()
        self.assertEqual(gc.get_freeze_count(), 0)

    # 2
    def test_freeze_resets_generation_counts(self):
        self.need_freeze()
        gc.collect(1)           # generation 2 count += 1
        gc.collect(0)           # generation 1 count += 1
        # Node() always goes through the GC allocator (a list may come from
        # a free list and leave the count alone).
        keep = [Node() for i in range(20)]  # generation 0 count grows
        before = gc.get_count()
        self.assertTrue(all(before), "precondition: counts %r" % (before,))
        gc.freeze()
        # Nothing allocates a container between the two calls: exact.
        after = gc.get_count()
        self.assertEqual(after, (0, 0, 0))
        del keep

    # 3
    def test_frozen_garbage_cycle_survives_every_collection(self):
        self.need_freeze()
        refs = make_cycle()
        gc.freeze()
        for args in ((), (0,), (1,), (2,)):
            gc.collect(*args)
            self.assertTrue(all_alive(refs),
                            "gc.collect%r freed a frozen cycle" % (args,))
        gc.unfreeze()
        gc.collect()
        self.assertTrue(all_dead(refs),
                        "gc.collect() after unfreeze() left the cycle alive")

    # 4
    def test_objects_created_after_freeze_are_collected(self):
        self.need_freeze()
        gc.freeze()
        frozen = gc.get_freeze_count()
        refs = make_cycle()
        self.assertGreaterEqual(gc.collect(), 2)
        self.assertTrue(all_dead(refs))
        self.assertEqual(gc.get_freeze_count(), frozen)

    # 5
    def test_frozen_objects_freed_by_refcount_leave_permanent_generation(self):
        self.need_freeze()
        n = 10000
        big = [[i] for i in range(n)]
        gc.freeze()
        before = gc.get_freeze_count()
        self.assertGreater(before, n)
        del big
        after = gc.get_freeze_count()
        self.assertGreaterEqual(before - after, n)

    # 6
    def test_frozen_objects_stay_tracked(self):
        self.need_freeze()
        inner = []
        outer = [inner]
        node = Node()
        gc.freeze()
        for obj in (inner, outer, node):
            self.assertTrue(gc.is_tracked(obj))
        gc.unfreeze()
        for obj in (inner, outer, node):
            self.assertTrue(gc.is_tracked(obj))

    # 7
    def test_functions_take_no_arguments(self):
        self.need_freeze()
        for name in ('freeze', 'unfreeze', 'get_freeze_count'):
            func = getattr(gc, name)
            self.assertRaises(TypeError, func, 0)
            self.assertRaises(TypeError, func, None, None)
            self.assertRaises(TypeError, func, generation=2)
        # The rejected calls did nothing.
        self.assertEqual(gc.get_freeze_count(), 0)

    # 8
    def test_introspection_of_frozen_objects(self):
        self.need_freeze()
        target = [None]
        holder = [target]

        def visible():
            objs = gc.get_objects()
            in_objects = any(o is target for o in objs)
            del objs
            refs = gc.get_referrers(target)
            in_referrers = any(r is holder for r in refs)
            del refs
            return in_objects, in_referrers

        self.assertEqual(visible(), (True, True))
        gc.freeze()
        # As in CPython 3.7: the permanent generation is left out of both.
        self.assertEqual(visible(), (False, False))
        gc.unfreeze()
        self.assertEqual(visible(), (True, True))

    # 8b
    def test_get_objects_after_freeze_holds_only_new_objects(self):
        # CPython 3.7: after gc.freeze(), gc.get_objects() lists only what
        # was tracked since, and get_referrers() finds only such referrers.
        self.need_freeze()
        target = Node()
        old_holder = [target]
        before = gc.get_objects()
        old_ids = set(map(id, before))
        gc.freeze()
        right_after = gc.get_objects()
        self.assertEqual(right_after, [])
        new_holder = [target]
        new_node = Node()
        objs = gc.get_objects()
        stale = None
        try:
            self.assertTrue(any(o is new_holder for o in objs))
            self.assertTrue(any(o is new_node for o in objs))
            stale = [o for o in objs if id(o) in old_ids]
            self.assertEqual(stale, [], "frozen objects in gc.get_objects()")
        finally:
            del objs, stale
        referrers = gc.get_referrers(target)
        self.assertTrue(any(r is new_holder for r in referrers))
        self.assertFalse(any(r is old_holder for r in referrers),
                         "a frozen referrer in gc.get_referrers()")
        del referrers, before

    # 8c
    def test_debug_stats_names_permanent_generation(self):
        # 3.7 prints "gc: objects in permanent generation: N" at each
        # collection under DEBUG_STATS, right after the generation sizes.
        self.need_freeze()
        lines, counts = debug_stats_run(sys.executable)
        self.assert_debug_stats(lines, counts)
        reference = reference_python()
        if reference is None:
            return  # the format above is 3.7's source, checked without it
        ref_lines, ref_counts = debug_stats_run(reference)
        self.assert_debug_stats(ref_lines, ref_counts)
        self.assertEqual(shape(lines), shape(ref_lines),
                         "DEBUG_STATS lines differ from %s's" % reference)

    def assert_debug_stats(self, lines, counts):
        perm = [i for i, line in enumerate(lines)
                if PERMANENT_STATS_LINE.match(line)]
        collections = [i for i, line in enumerate(lines)
                       if line.startswith("gc: collecting generation ")]
        # one per collection, after the line with the generation sizes
        self.assertEqual(len(perm), len(collections), lines)
        for i in perm:
            self.assertTrue(lines[i - 1].startswith(
                "gc: objects in each generation: "), lines)
        frozen = [int(PERMANENT_STATS_LINE.match(lines[i]).group(1))
                  for i in perm]
        # before freeze(), after it, after unfreeze()
        self.assertEqual(len(frozen), 3, lines)
        self.assertEqual(frozen[0], 0)
        self.assertEqual(frozen[1], counts[0])
        self.assertEqual(frozen[2], 0)

    # 9
    def test_unfreeze_moves_objects_to_oldest_generation(self):
        self.need_freeze()
        # Control: a fresh cycle lives in generation 0.
        refs = make_cycle()
        gc.collect(0)
        self.assertTrue(all_dead(refs), "precondition: gc.collect(0)")

        refs = make_cycle()
        gc.freeze()
        gc.unfreeze()
        self.assertEqual(gc.get_freeze_count(), 0)
        gc.collect(0)
        self.assertTrue(all_alive(refs), "gc.collect(0) saw an unfrozen cycle")
        gc.collect(1)
        self.assertTrue(all_alive(refs), "gc.collect(1) saw an unfrozen cycle")
        gc.collect(2)
        self.assertTrue(all_dead(refs), "gc.collect(2) left the cycle alive")

    # 10
    def test_forked_child_collects_without_touching_frozen_heap(self):
        self.need_freeze()
        if not hasattr(os, 'fork'):
            self.skipTest("os.fork() is not available on this platform")
        refs = make_cycle()
        gc.freeze()
        problems = in_child(lambda: self.child_checks(refs))
        self.assertEqual(problems, [])
        # The parent's frozen cycle is untouched too.
        self.assertTrue(all_alive(refs))
        gc.unfreeze()
        gc.collect()
        self.assertTrue(all_dead(refs))

    @staticmethod
    def child_checks(refs):
        problems = []
        if gc.get_freeze_count() <= 0:
            problems.append("child inherited no frozen objects")
        gc.enable()
        gc.collect()
        if not all_alive(refs):
            problems.append("gc.collect() in the child freed a frozen cycle")
        fresh = make_cycle()
        gc.collect()
        if not all_dead(fresh):
            problems.append("a cycle made in the child was not collected")
        if not all_alive(refs):
            problems.append("second collection freed a frozen cycle")
        gc.unfreeze()
        gc.collect()
        if not all_dead(refs):
            problems.append("unfrozen cycle not collected in the child")
        return problems

    # 11
    def test_freeze_unfreeze_from_finalizer(self):
        self.need_freeze()
        calls = []

        class Finalizer(object):
            def __init__(self, action):
                self.action = action

            def __del__(self):
                calls.append(self.action)
                getattr(gc, self.action)()

        # a) freeze() from a __del__ run while gc.collect(1) clears a cycle:
        # the finalizer object sits in generation 2 and only the young
        # cycle holds it (works on 2.7 too, where __del__ in a cycle is
        # uncollectable).
        fin = Finalizer('freeze')
        gc.collect()
        refs = make_cycle(fin)
        del fin
        self.assertGreaterEqual(gc.collect(1), 2)
        self.assertEqual(calls, ['freeze'])
        self.assertTrue(all_dead(refs))
        self.assert_consistent(frozen=True)

        # b) unfreeze() from the __del__ of a frozen object that a young
        # cycle frees during a full collection.
        del calls[:]
        fin = Finalizer('unfreeze')
        gc.freeze()
        refs = make_cycle(fin)
        del fin
        self.assertGreaterEqual(gc.collect(), 2)
        self.assertEqual(calls, ['unfreeze'])
        self.assertTrue(all_dead(refs))
        self.assert_consistent(frozen=False)

        if sys.version_info < (3, 4):
            return
        # c) PEP 442: the finalizer is a member of the garbage cycle.
        for action, frozen in (('freeze', True), ('unfreeze', False)):
            del calls[:]
            if action == 'unfreeze':
                gc.freeze()
            fin = Finalizer(action)
            fin.self_ref = fin
            ref = weakref.ref(fin)
            del fin
            self.assertGreaterEqual(gc.collect(), 1)
            self.assertEqual(calls, [action])
            self.assertIsNone(ref())
            self.assert_consistent(frozen=frozen)

    # 12
    def test_freeze_unfreeze_from_gc_callbacks(self):
        self.need_freeze()
        if not hasattr(gc, 'callbacks'):
            self.skipTest("gc.callbacks exists only on Python 3.3+")
        events = []
        errors = []

        def make_callback(on_start, on_stop):
            def callback(phase, info):
                try:
                    getattr(gc, on_start if phase == 'start' else on_stop)()
                    events.append((phase, gc.get_freeze_count()))
                except BaseException:
                    errors.append(traceback.format_exc())
            return callback

        def collect_with(on_start, on_stop):
            """One gc.collect() under make_callback(on_start, on_stop): the
            freeze counts its callback saw at "start" and at "stop"."""
            del events[:]
            callback = make_callback(on_start, on_stop)
            gc.callbacks.append(callback)
            gc.collect()
            gc.callbacks.remove(callback)
            self.assertEqual(errors, [])
            self.assertEqual([phase for phase, count in events], ['start', 'stop'])
            return [count for phase, count in events]

        # freeze at "start": the collection sees nothing; unfreeze at "stop".
        refs = make_cycle()
        at_start, at_stop = collect_with('freeze', 'unfreeze')
        self.assertGreater(at_start, 0)
        self.assertEqual(at_stop, 0)
        self.assertTrue(all_alive(refs), "cycle frozen at 'start' was freed")
        self.assert_consistent(frozen=False)
        gc.collect()
        self.assertTrue(all_dead(refs))

        # unfreeze at "start": the collection sees the cycle; freeze at "stop".
        refs = make_cycle()
        gc.freeze()
        at_start, at_stop = collect_with('unfreeze', 'freeze')
        self.assertEqual(at_start, 0)
        self.assertGreater(at_stop, 0)
        self.assertTrue(all_dead(refs), "cycle unfrozen at 'start' survived")
        self.assert_consistent(frozen=True)

        # Automatic collections of every generation run the same callbacks.
        del events[:]
        callback = make_callback('freeze', 'unfreeze')
        gc.callbacks.append(callback)
        gc.set_threshold(50, 3, 3)
        gc.enable()
        try:
            keep = []
            for i in range(5000):
                make_cycle()
                keep.append([i])
        finally:
            gc.disable()
            gc.callbacks.remove(callback)
        del keep
        self.assertEqual(errors, [])
        self.assertGreater(len(events), 2)
        self.assert_consistent(frozen=False)

    # 13
    def test_freeze_unfreeze_while_threads_allocate(self):
        self.need_freeze()
        nthreads, iterations, max_rounds = 4, 3000, 5000
        errors = []
        samples = []

        def worker():
            try:
                keep = []
                for i in range(iterations):
                    refs = make_cycle([i])
                    if i % 100 == 0:
                        samples.append(refs)
                    keep.append((i, [i]))
                    if len(keep) > 50:
                        del keep[:25]
            except BaseException:
                errors.append(traceback.format_exc())

        if hasattr(sys, 'setswitchinterval'):
            interval = sys.getswitchinterval()
            sys.setswitchinterval(1e-5)
            self.addCleanup(sys.setswitchinterval, interval)
        else:
            interval = sys.getcheckinterval()
            sys.setcheckinterval(10)
            self.addCleanup(sys.setcheckinterval, interval)
        gc.set_threshold(100, 5, 5)
        gc.enable()
        threads = [threading.Thread(target=worker) for i in range(nthreads)]
        for t in threads:
            t.start()
        try:
            # At least 300 rounds, more while the workers run; bounded.
            for i in range(max_rounds):
                if i >= 300 and not any(t.is_alive() for t in threads):
                    break
                gc.freeze()
                gc.get_freeze_count()
                gc.unfreeze()
                if i % 10 == 0:
                    gc.collect(i % 3)
        finally:
            for t in threads:
                t.join()
            gc.disable()
        self.assertEqual(errors, [])
        self.assertEqual(gc.get_freeze_count(), 0)
        gc.collect()
        self.assertEqual(len(samples), nthreads * iterations // 100)
        leaked = [refs for refs in samples if not all_dead(refs)]
        self.assertEqual(len(leaked), 0,
                         "%d sampled cycles survived" % len(leaked))
        self.assert_consistent(frozen=False)

    # 14
    def test_freeze_unfreeze_from_weakref_callback(self):
        self.need_freeze()
        calls = []

        def run(action):
            def callback(wr):
                calls.append(action)
                getattr(gc, action)()
            first = Node()
            first.peer = Node()
            first.peer.peer = first
            return weakref.ref(first, callback)

        ref = run('freeze')
        self.assertGreaterEqual(gc.collect(), 2)
        self.assertEqual(calls, ['freeze'])
        self.assertIsNone(ref())
        self.assert_consistent(frozen=True)

        del calls[:]
        gc.freeze()
        ref = run('unfreeze')
        self.assertGreaterEqual(gc.collect(), 2)
        self.assertEqual(calls, ['unfreeze'])
        self.assertIsNone(ref())
        self.assert_consistent(frozen=False)


DEBUG_STATS_PROGRAM = r"""
import gc, sys
gc.disable()
gc.collect()
gc.set_debug(gc.DEBUG_STATS)
gc.collect(0)
gc.freeze()
count = gc.get_freeze_count()
gc.collect()
gc.unfreeze()
gc.collect(1)
gc.set_debug(0)
sys.stdout.write("%d\n" % count)
"""


def debug_stats_run(python):
    """Run DEBUG_STATS_PROGRAM under `python`; return the collector's stderr
    lines and the freeze count it printed."""
    proc = subprocess.Popen([python, "-c", DEBUG_STATS_PROGRAM],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise AssertionError("%s failed: %r" % (python, err))
    lines = [line for line in err.decode("ascii").splitlines()
             if line.startswith("gc: ")]
    return lines, [int(out.decode("ascii").split()[0])]


def reference_python():
    """A CPython >= 3.7 to compare with: $GCFREEZE_REFERENCE_PYTHON, else
    python3 on PATH if it is >= 3.7; None if there is none."""
    candidates = [os.environ.get("GCFREEZE_REFERENCE_PYTHON"), "python3"]
    for python in candidates:
        if not python:
            continue
        try:
            out = subprocess.Popen(
                [python, "-c", "import sys; print(sys.version_info >= (3, 7))"],
                stdout=subprocess.PIPE).communicate()[0]
        except OSError:
            continue
        if out.strip() == b"True":
            return python
    return None


def shape(lines):
    """The stats lines of a run with numbers and times left out ("gc: done"
    ends differently on 2.7: the collection's own output, not the freeze's)."""
    return [re.sub(r"\d+", "N", line) for line in lines
            if not line.startswith("gc: done")]


def test_main():
    run_module_tests(__name__)


if __name__ == '__main__':
    unittest.main()
