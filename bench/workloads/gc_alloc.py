"""GC-heavy: allocate reference cycles with the collector on (many automatic
collections of every generation)."""
import gc

gc.enable()
keep = []
for i in range(60000):
    a = [i]
    b = {"a": a}
    a.append(b)
    keep.append(a)
    if len(keep) > 3000:
        del keep[:1500]
gc.collect()
