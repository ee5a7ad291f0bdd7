"""Compare two regrtest logs (stock and patched) of one release.

    python ci/parity_report.py --series 3.6 --release 3.6.15 \
        --known ci/parity-known.txt [--alone-reasons ci/parity-alone.txt \
        --alone ALONE.txt] STOCK.log PATCHED.log [RERUN.txt]

Prints the table of ci/parity.sh and exits 1 when a test fails patched but
passes stock (and did not pass when rerun alone: RERUN.txt lists, one per
line, "name stock-rc patched-rc" for the tests ci/parity.sh reran), or when a
test left out of the parallel run passes alone stock but not patched
(ALONE.txt, in the same format).
Runs on 2.7 and 3.x: it is run by the interpreter under test.
"""
from __future__ import print_function

import re
import sys

# regrtest's summary: "All 12 tests OK.", "3 tests failed:", then the names
# indented on the lines that follow.
HEADER = re.compile(r'^(?:All )?(\d+) tests? (OK\.|failed:|altered the execution '
                    r'environment:|skipped:|skips? unexpected on \S+:|'
                    r'omitted:|failed again:|run no tests:)\s*$')
CATEGORY = {
    'OK.': 'passed',
    'failed:': 'failed',
    'altered the execution environment:': 'env_changed',
    'skipped:': 'skipped',
    'omitted:': 'skipped',
    'run no tests:': 'skipped',
}
DURATION = re.compile(r'^suite took (\d+)s')


def parse(path):
    result = dict((k, set()) for k in ('passed', 'failed', 'env_changed', 'skipped'))
    counts = dict((k, 0) for k in result)
    result['seconds'] = None
    result['finished'] = False
    current = None
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        m = HEADER.match(line)
        if m:
            kind = m.group(2)
            current = CATEGORY.get(kind)
            if current:
                counts[current] += int(m.group(1))
                result['finished'] = True
            continue
        m = DURATION.match(line)
        if m:
            result['seconds'] = int(m.group(1))
            continue
        if current and line.startswith('    ') and line.strip():
            if current != 'passed':
                result[current].update(line.split())
            continue
        current = None
    result['counts'] = counts
    return result


def read_fields(path, maxsplit=-1):
    """The fields of each line of a data file that is neither blank nor a
    comment (nothing when no path is given)."""
    if not path:
        return
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                yield line.split(None, maxsplit)


def read_known(path, series):
    """ci/parity-known.txt: "SERIES TEST REASON..." (SERIES may be '*')."""
    known = {}
    for parts in read_fields(path, 2):
        if len(parts) == 3 and parts[0] in (series, '*'):
            known[parts[1]] = parts[2]
    return known


def outcome(rc):
    if rc == 0:
        return 'passed'
    if rc == 124:
        return 'hung (killed)'
    return 'failed (exit %d)' % rc


def read_reruns(path):
    reruns = {}
    for parts in read_fields(path):
        if len(parts) == 3:
            reruns[parts[0]] = (int(parts[1]), int(parts[2]))
    return reruns


def main(argv):
    args = list(argv)
    opts = {'--series': '?', '--release': '?', '--known': None,
            '--alone-reasons': None, '--alone': None}
    while args and args[0] in opts:
        opts[args[0]] = args[1]
        del args[:2]
    stock_log, patched_log = args[0], args[1]
    reruns = read_reruns(args[2] if len(args) > 2 else None)
    known = read_known(opts['--known'], opts['--series'])
    alone = read_reruns(opts['--alone'])
    alone_known = read_known(opts['--alone-reasons'], opts['--series'])
    stock, patched = parse(stock_log), parse(patched_log)

    def ran(r):
        c = r['counts']
        return c['passed'] + c['failed'] + c['env_changed']

    rows = [
        ('tests run', ran),
        ('passed', lambda r: r['counts']['passed']),
        ('failed', lambda r: r['counts']['failed']),
        ('env changed', lambda r: r['counts']['env_changed']),
        ('skipped', lambda r: r['counts']['skipped']),
        ('duration', lambda r: '%ss' % r['seconds'] if r['seconds'] is not None else '?'),
    ]
    print('%-46s %10s %10s' % ('Python %s, full regression suite' % opts['--release'], 'stock', 'patched'))
    for label, get in rows:
        print('  %-44s %10s %10s' % (label, get(stock), get(patched)))

    ok = stock['finished'] and patched['finished']
    if not ok:
        print('  the suite did not finish: %s' % ', '.join(
            name for name, r in (('stock', stock), ('patched', patched)) if not r['finished']))

    bad_patched = patched['failed'] | patched['env_changed']
    bad_stock = stock['failed'] | stock['env_changed']
    regressions, flaky = [], []
    for name in sorted(bad_patched - bad_stock):
        rc = reruns.get(name)
        if rc is not None and rc[1] == 0:
            flaky.append(name)
        else:
            regressions.append(name)
    print('  fail patched, pass stock: %s' % (', '.join(regressions) or 'none'))
    if flaky:
        print('  failed patched in the parallel run, passed alone (flaky): %s' % ', '.join(flaky))
    fixed = sorted(bad_stock - bad_patched)
    if fixed:
        print('  fail stock, pass patched: %s' % ', '.join(fixed))
    both = sorted(bad_stock & bad_patched)
    if both:
        print('  fail on both (the same on stock; reason where known):')
        for name in both:
            kind = 'failed' if name in stock['failed'] else 'env changed'
            print('    %-28s %-12s %s' % (name, kind, known.get(name, '(no reason recorded yet)')))
    if alone:
        print('  run alone, outside the parallel run (stock / patched; why):')
        for name in sorted(alone):
            s, p = alone[name]
            why = alone_known.get(name, '(no reason recorded yet)')
            if s == 0 and p != 0:
                # printed after the "fail patched, pass stock" line: say it here
                regressions.append(name)
                why = 'FAILS PATCHED, PASSES STOCK'
            print('    %-28s %s / %s; %s' % (name, outcome(s), outcome(p), why))
    return 0 if ok and not regressions else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
