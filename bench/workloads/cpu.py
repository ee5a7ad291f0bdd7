"""CPU-bound pure-Python work for bench/speed.sh, on 2.7 and 3.x alike.

Three parts, each timed in CPU seconds of this process (user + system
from getrusage(): a loaded machine's waiting and the start-up are left out):

  pystone  a Dhrystone-like loop of records, attribute access, arithmetic,
           string comparison and calls (the shape of the old pystone)
  json     dumps/loads round trips of a nested document
  regex    compiling-once matching, searching, substituting and splitting

Prints one line per part, "PART SECONDS RESULT", then "total SECONDS".
RESULT is a checksum of the part's work: bench/speed.sh checks that every
interpreter got the same, so one that computes something else cannot look
fast.

usage: python cpu.py [--scale N] [--parts pystone,json,regex]
"""
import json
import re
import resource
import sys


def cpu():
    # microseconds, where os.times() counts clock ticks
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- pystone-like ---------------------------------------------------------

class Record(object):
    __slots__ = ("ptr", "discr", "enum", "intcomp", "strcomp")

    def __init__(self, ptr=None, discr=0, enum=0, intcomp=0, strcomp=""):
        self.ptr = ptr
        self.discr = discr
        self.enum = enum
        self.intcomp = intcomp
        self.strcomp = strcomp

    def copy(self):
        return Record(self.ptr, self.discr, self.enum, self.intcomp, self.strcomp)


IDENT1, IDENT2, IDENT3, IDENT4, IDENT5 = range(1, 6)


def func1(ch1, ch2):
    if ch1 != ch2:
        return IDENT1
    return IDENT2


def func2(s1, s2):
    i = 1
    while i <= 1:
        if func1(s1[i], s2[i + 1]) == IDENT1:
            ch = "A"
            i += 1
    if "W" <= ch <= "Z":
        i = 7
    if ch == "X":
        return True
    if s1 > s2:
        return True
    return False


def proc7(a, b):
    return a + 2 + b


def proc8(array1, array2, a, b):
    loc = a + 5
    array1[loc] = b
    array1[loc + 1] = array1[loc]
    array1[loc + 30] = loc
    for i in range(loc, loc + 2):
        array2[loc][i] = loc
    array2[loc][loc - 1] += 1
    array2[loc + 20][loc] = array1[loc]
    return 5


def pystone(loops):
    glob = Record()
    glob.ptr = Record(None, IDENT1, IDENT3, 40, "DHRYSTONE PROGRAM, SOME STRING")
    array1 = [0] * 51
    array2 = [[0] * 51 for _ in range(51)]
    s1 = "DHRYSTONE PROGRAM, 1'ST STRING"
    s2 = "DHRYSTONE PROGRAM, 2'ND STRING"
    checksum = 0
    for i in range(loops):
        int1, int2 = 2, 3
        enum = IDENT2
        boolv = not func2(s1, s2)
        while int1 < int2:
            int3 = 5 * int1 - int2
            int3 = proc7(int1, int2)
            int1 += 1
        glob_int = proc8(array1, array2, int1, int3)
        rec = glob.ptr.copy()
        rec.intcomp = 5
        rec.ptr = glob.ptr
        if rec.discr == IDENT1:
            rec.intcomp = proc7(rec.intcomp, 10)
            rec.enum = enum
        ch = "A"
        while ch <= "B":
            if enum == func1(ch, "C"):
                enum = IDENT1
            ch = chr(ord(ch) + 1)
        int3 = int2 * int1
        int2 = int3 // int1
        int2 = 7 * (int3 - int2) - int1
        checksum += int1 + int2 + int3 + rec.intcomp + glob_int + boolv
    return checksum


# --- json ----------------------------------------------------------------

def document(n):
    return {
        "items": [
            {"id": i, "name": "item-%d" % i, "price": i * 1.25, "tags": ["a", "b", "c%d" % (i % 7)],
             "active": i % 3 == 0, "owner": None, "dims": {"w": i, "h": i * 2, "d": [i, i + 1]}}
            for i in range(n)
        ],
        "total": n,
        "title": u"r\u00e9sum\u00e9 \u2603 caf\u00e9",
    }


def json_round_trips(loops):
    doc = document(60)
    out = None
    for _ in range(loops):
        text = json.dumps(doc, sort_keys=True)
        out = json.loads(text)
        text = json.dumps(out, indent=1, separators=(",", ": "))
        out = json.loads(text)
    if out != doc:
        raise AssertionError("json round trip changed the document")
    return len(text)


# --- regex ---------------------------------------------------------------

LOG_LINE = re.compile(r'^(\d+\.\d+\.\d+\.\d+) - (\w+) \[([^\]]+)\] "(GET|POST|PUT) ([^ "]+) HTTP/1\.[01]" (\d{3}) (\d+)$')
WORD = re.compile(r"\b[a-z]+ing\b", re.I)
DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
SPLIT = re.compile(r"[,;]\s*")


def regex(loops):
    lines = ['10.0.%d.%d - user%d [03/Dec/2026:20:%02d:00 +0000] "GET /path/%d/x?q=%d HTTP/1.1" 200 %d'
             % (i % 256, i % 200, i, i % 60, i, i * 7, i * 13) for i in range(40)]
    text = ("Something interesting is happening, nothing surprising: the king is singing 2026-12-03; "
            "testing 1999-01-31, routing and parsing. ") * 8
    count = 0
    for _ in range(loops):
        for line in lines:
            m = LOG_LINE.match(line)
            count += int(m.group(6)) + len(m.group(5))
        count += len(WORD.findall(text))
        count += len(DATE.sub(r"\3/\2/\1", text))
        count += len(SPLIT.split(text))
    return count


PARTS = (("pystone", pystone, 300000), ("json", json_round_trips, 250), ("regex", regex, 8000))


def main(argv):
    scale = 1.0
    wanted = [name for name, _, _ in PARTS]
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--scale" and args:
            scale = float(args.pop(0))
        elif arg == "--parts" and args:
            wanted = args.pop(0).split(",")
        else:
            sys.stderr.write("cpu.py: unknown argument %r (usage: cpu.py [--scale N] [--parts %s])\n"
                             % (arg, ",".join(name for name, _, _ in PARTS)))
            return 2
    known = dict((name, (func, loops)) for name, func, loops in PARTS)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        sys.stderr.write("cpu.py: unknown part(s) %s: choose from %s\n" % (", ".join(unknown), ", ".join(known)))
        return 2
    total = 0.0
    for name in wanted:
        func, loops = known[name]
        start = cpu()
        result = func(max(1, int(loops * scale)))
        spent = cpu() - start
        total += spent
        sys.stdout.write("%s %.4f %d\n" % (name, spent, result))
    sys.stdout.write("total %.4f\n" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
