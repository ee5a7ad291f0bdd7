"""Object-heavy pure Python: classes, dicts, sorting, string formatting."""


class Point(object):
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm2(self):
        return self.x * self.x + self.y * self.y


points = [Point(i % 97, i % 89) for i in range(40000)]
points.sort(key=Point.norm2)
index = {}
for p in points:
    index.setdefault(p.norm2() % 101, []).append("%d:%d" % (p.x, p.y))
total = sum(len(v) for v in index.values())
assert total == len(points)
