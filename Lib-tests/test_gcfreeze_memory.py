"""What a child forked from a frozen parent copies, and what a frozen heap
keeps: memory measured by the kernel, not timed.

Each measurement is taken in a forked child: Private_Dirty from
/proc/self/smaps_rollup before and after the call under test (pages the
child wrote to since the fork, i.e. copied from the parent).  A control run
of the same program without gc.freeze() shows that the measurement sees the
copies the freeze avoids.  Runs on 2.7 and 3.x alike, ours or CPython >= 3.7.

    python Lib-tests/test_gcfreeze_memory.py -v
"""
from __future__ import print_function

import gc
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcheaps import fill_free_lists, in_child, object_heap, run_module_tests  # noqa: E402

HAVE_FREEZE = hasattr(gc, "freeze")
SMAPS_ROLLUP = "/proc/self/smaps_rollup"
NO_SMAPS = "needs Linux >= 4.14 for /proc/self/smaps_rollup"
# CPython 3.7+ clears its free lists in every full collection, frozen or not
# (issue 17 of this project: 3.11 copies 1.8 MB there); only this project's
# builds keep them while objects are frozen.
UPSTREAM_CLEARS_FREE_LISTS = sys.version_info >= (3, 7)


def private_dirty_kb():
    with open(SMAPS_ROLLUP) as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in " + SMAPS_ROLLUP)


def copied_kb(call):
    """In a fresh child: KiB the child copies while it runs call()."""
    def child():
        before = private_dirty_kb()
        call()
        return private_dirty_kb() - before
    return in_child(child)


def median_copied_kb(call, repeat=3):
    results = sorted(copied_kb(call) for i in range(repeat))
    return results[len(results) // 2]


def numbers_heap():
    """Ints and floats, some of which die before the freeze (free slots
    in the number blocks of Python 2)."""
    ints = [i * 7 for i in range(1000000)]
    floats = [i * 0.5 for i in range(500000)]
    del ints[::2], floats[::2]
    return ints, floats


class FrozenChildCopyTest(unittest.TestCase):

    def setUp(self):
        if not HAVE_FREEZE:
            self.fail("this interpreter has no gc.freeze() (%s)" % sys.executable)
        if not hasattr(os, "fork"):
            self.skipTest("needs os.fork()")
        if not os.path.exists(SMAPS_ROLLUP):
            self.skipTest(NO_SMAPS)
        was_enabled = gc.isenabled()
        self.addCleanup(gc.enable if was_enabled else gc.disable)
        self.addCleanup(gc.unfreeze)
        gc.disable()
        gc.collect()

    def test_get_objects_in_frozen_child_copies_little(self):
        # CPython 3.7 leaves frozen objects out of gc.get_objects(): listing
        # them would write every frozen object's reference count.
        heap = object_heap()
        control = median_copied_kb(gc.get_objects)
        gc.freeze()
        frozen = median_copied_kb(gc.get_objects)
        gc.unfreeze()
        del heap
        print("\nget_objects() in a child, 200k-object heap: unfrozen %d KiB, "
              "frozen %d KiB" % (control, frozen), file=sys.stderr)
        # the control lists 800k objects and copies their pages
        self.assertGreater(control, 4096)
        self.assertLess(frozen, 1024)

    def test_numbers_in_frozen_child_full_collection(self):
        # Python 2's full collection clears the int and float free lists by
        # writing into every number block; the blocks that existed at
        # freeze() must stay untouched (at most 0.25 MB copied in all).
        heap = numbers_heap()
        gc.freeze()
        full = median_copied_kb(gc.collect)
        young = median_copied_kb(lambda: gc.collect(1))
        gc.unfreeze()
        del heap
        print("\nfrozen child with 750k numbers: full collection %d KiB, "
              "young %d KiB" % (full, young), file=sys.stderr)
        self.assertLessEqual(full, 256)

    def test_filled_free_lists_in_frozen_child_full_collection(self):
        if UPSTREAM_CLEARS_FREE_LISTS:
            self.skipTest("CPython >= 3.7 clears the free lists in frozen "
                          "children; only this project's builds keep them")
        # While objects are frozen, a full collection leaves the free lists
        # (shared with the parent) alone: it copies at most 64 KiB more than
        # a young collection.
        fill_free_lists()
        gc.freeze()
        full = median_copied_kb(gc.collect)
        young = median_copied_kb(lambda: gc.collect(1))
        gc.unfreeze()
        # control: without freeze() the clearing is there to see
        fill_free_lists()
        control = median_copied_kb(gc.collect) - median_copied_kb(
            lambda: gc.collect(1))
        print("\nfilled free lists, child: full %d KiB, young %d KiB; "
              "unfrozen full - young %d KiB" % (full, young, control),
              file=sys.stderr)
        self.assertLessEqual(full - young, 64)


RETENTION_PROGRAM = r"""
import gc, os, sys
sys.path.insert(0, %(libtests)r)
from gcheaps import object_heap

def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

gc.disable()
heap = object_heap()
if %(freeze)r:
    gc.freeze()
numbers = list(range(5000000))
del numbers
gc.collect()
before = rss_kb()
strings = ["%%0600d" %% i for i in range(200000)]
print(rss_kb() - before)
"""


class NumberMemoryTest(unittest.TestCase):
    """Issue 12 part 3: numbers that die after gc.freeze() are reused or
    released as in stock: 5 million ints die, gc.collect(), then 200,000
    strings of 600 bytes; RSS grows within 16 MB of the same program
    without gc.freeze()."""

    def growth_kb(self, freeze):
        program = RETENTION_PROGRAM % {
            "libtests": os.path.dirname(os.path.abspath(__file__)),
            "freeze": freeze}
        out = subprocess.Popen([sys.executable, "-c", program],
                               stdout=subprocess.PIPE).communicate()[0]
        return int(out.decode("ascii").split()[-1])

    def test_dead_numbers_memory_is_reused_while_frozen(self):
        if not HAVE_FREEZE:
            self.fail("this interpreter has no gc.freeze() (%s)" % sys.executable)
        if not os.path.exists("/proc/self/statm"):
            self.skipTest("needs Linux's /proc/self/statm")
        unfrozen = self.growth_kb(False)
        frozen = self.growth_kb(True)
        print("\nRSS growth for 200k strings after 5M ints died: unfrozen "
              "%d KiB, frozen %d KiB" % (unfrozen, frozen), file=sys.stderr)
        self.assertLessEqual(frozen, unfrozen + 16 * 1024)


def test_main():
    run_module_tests(__name__)


if __name__ == "__main__":
    unittest.main()
