"""What the Lib-tests and bench/cow.py share (a helper, not a test module):
an application's objects, the free lists a warmed-up server leaves filled,
a call in a forked child, and regrtest's entry point."""
import json
import os
import sys


class Node(object):
    pass


def object_heap(n=200000):
    """n instances with dict attributes in one big cycle: 4n tracked
    objects (instance, __dict__, list, tuple)."""
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


class Holder(object):
    def method(self):
        return self


def generator():
    yield 1


def fill_free_lists():
    """Leave the free lists that a full collection empties filled to their
    caps, as a warmed-up server leaves them: tuples of every small size,
    lists, dicts, sets, frames, bound and built-in methods, floats and
    (Python 2) unicode objects."""
    for size in range(1, 20):
        junk = [tuple([i] * size) for i in range(2100)]
        del junk
    junk = [[i] for i in range(200)]
    junk += [{i: i} for i in range(200)]
    junk += [set([i]) for i in range(200)]
    holder = Holder()
    junk += [holder.method for i in range(600)]
    junk += [[].append for i in range(600)]
    junk += [float(i) + 0.5 for i in range(2000)]
    junk += [u"%d" % i for i in range(2000)]
    gens = [generator() for i in range(400)]
    for g in gens:
        next(g)
    del junk, gens, holder


def in_child(func):
    """Fork, run func() in the child, return what it returned (JSON); an
    exception in the child, or a child that ends without a reply or with a
    non-zero status, raises AssertionError with what the child said."""
    rfd, wfd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(rfd)
            message = json.dumps({"ok": func()})
            status = 0
        except BaseException:
            import traceback  # here: bench/cow.py's heap gets no more modules
            message = json.dumps({"error": traceback.format_exc()})
        finally:
            try:
                os.write(wfd, message.encode("ascii"))
                os.close(wfd)
            finally:
                os._exit(status)
    os.close(wfd)
    text = b"".join(iter(lambda: os.read(rfd, 65536), b"")).decode("ascii")
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    reply = json.loads(text) if text else {"error": "no reply"}
    if "error" in reply or status != 0:
        raise AssertionError("child failed (exit status %#x): %s"
                             % (status, reply.get("error", "")))
    return reply["ok"]


def run_module_tests(name):
    """test_main() of a Lib-test: 2.7's regrtest (ci/debug-checks.sh: -m test
    -R 3:3) runs only a module's test_main(); 3.x's finds the tests itself."""
    import unittest  # here: bench/cow.py's heap gets no more modules
    try:
        from test import support
    except ImportError:
        from test import test_support as support
    support.run_unittest(unittest.defaultTestLoader.loadTestsFromModule(sys.modules[name]))
