"""Heaps shared by test_gcfreeze_memory.py and bench/cow.py (a helper, not
a test module): an application's objects, and the free lists a warmed-up
server leaves filled."""


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
