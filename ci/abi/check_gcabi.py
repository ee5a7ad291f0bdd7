"""Run by the patched interpreter with gcabi (built for stock) on sys.path."""
from __future__ import print_function
import gc
import gcabi

gc.disable()
a, b = gcabi.Node(), gcabi.Node()
a.ref, b.ref = b, a
assert gc.is_tracked(a)
del a, b
gc.freeze()
base = gcabi.freed()
gc.collect()
assert gcabi.freed() == base, "a frozen cycle of extension objects was collected"
gc.unfreeze()
gc.collect()
assert gcabi.freed() == base + 2, "the unfrozen cycle was not collected: %d" % (gcabi.freed() - base)
c = gcabi.Node()
c.ref = c
del c
gc.collect()
assert gcabi.freed() == base + 3
print("gcabi: stock-built extension works in the patched interpreter")
