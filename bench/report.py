"""Turn bench/run.sh's results.jsonl into a Markdown table and a plot.

usage: python3 bench/report.py RESULTS.jsonl OUTDIR   (needs matplotlib)
"""
import json
import os
import platform
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, %s" % (cpu, os.cpu_count() or 0, platform.platform())


def table(rows):
    out = ["Measured on: " + machine(), ""]
    cow = [r for r in rows if r["kind"] == "cow"]
    if cow:
        out += ["### Child copy-on-write after one full collection (bench/cow.py)", "",
                "| Python | heap | tracked | stock: copied / collection | patched, not frozen | patched, frozen | frozen: young collection copied | frozen: full - young |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        keys = sorted(set((r["python"], r["heap"]) for r in cow))
        for py, heap in keys:
            cell = {}
            tracked = 0
            young = extra = "-"
            for r in cow:
                if (r["python"], r["heap"]) == (py, heap):
                    cell[(r["build"], r["frozen"])] = "%.2f MB / %.1f ms" % (r["copied_mb"], r["collect_ms"])
                    tracked = r["tracked"]
                    if r["frozen"] and "full_minus_young_kb" in r:
                        young = "%.2f MB" % r["young_copied_mb"]
                        extra = "%d KiB" % r["full_minus_young_kb"]
            out.append("| %s | %s | %d | %s | %s | %s | %s | %s |" % (
                py, heap, tracked, cell.get(("stock", False), "-"),
                cell.get(("gcfreeze", False), "-"), cell.get(("gcfreeze", True), "-"),
                young, extra))
        out.append("")
    scaling = [r for r in rows if r["kind"] == "scaling"]
    if scaling:
        out += ["### Full collection time against heap size, 10000 young objects (bench/scaling.py)", "",
                "| Python | heap | not frozen | frozen |", "| --- | ---: | ---: | ---: |"]
        for py, size in sorted(set((r["python"], r["heap"]) for r in scaling)):
            t = dict((r["frozen"], r["collect_ms"]) for r in scaling if (r["python"], r["heap"]) == (py, size))
            out.append("| %s | %d | %.2f ms | %.2f ms |" % (py, size, t.get(False, 0), t.get(True, 0)))
        out.append("")
    over = [r for r in rows if r["kind"] == "overhead"]
    if over:
        out += ["### Instructions under callgrind, freeze never called (bench/overhead.sh)", "",
                "| Python | workload | stock | patched | patched/stock |", "| --- | --- | ---: | ---: | ---: |"]
        for r in over:
            out.append("| %s | %s | %d | %d | %.4f |" % (r["python"], r["workload"], r["stock_ir"],
                                                     r["patched_ir"], r["ratio"]))
        out.append("")
    pre = [r for r in rows if r["kind"] == "prefork"]
    if pre:
        out += ["### Prefork server, 8 workers, each with a full collection right after the fork: summed USS and PSS after load (bench/prefork.py)", "",
                "| Python | stock | stock, collector off | patched, freeze | freeze vs stock (USS) | freeze / collector off (USS) |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for py in sorted(set(r["python"] for r in pre)):
            m = dict((r["mode"], r) for r in pre if r["python"] == py)
            fmt = lambda r: "%.1f / %.1f MB" % (r["uss_mb"], r["pss_mb"]) if r else "-"
            saving = "-"
            if "stock" in m and "freeze" in m:
                saving = "%.1f %% less" % (100.0 * (1 - m["freeze"]["uss_mb"] / m["stock"]["uss_mb"]))
            ratio = "-"
            if "nogc" in m and "freeze" in m:
                ratio = "%.3f" % (m["freeze"]["uss_mb"] / m["nogc"]["uss_mb"])
            out.append("| %s | %s | %s | %s | %s | %s |" % (py, fmt(m.get("stock")), fmt(m.get("nogc")),
                                                           fmt(m.get("freeze")), saving, ratio))
        out.append("")
    return "\n".join(out)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cow = [r for r in rows if r["kind"] == "cow" and r["heap"] == "objs"]
    scaling = [r for r in rows if r["kind"] == "scaling"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    pys = sorted(set(r["python"] for r in cow))
    labels = [("stock", False, "stock"), ("gcfreeze", False, "patched"), ("gcfreeze", True, "patched + freeze")]
    width = 0.27
    for i, (build, frozen, label) in enumerate(labels):
        vals = []
        for py in pys:
            v = [r["copied_mb"] for r in cow if r["python"] == py and r["build"] == build and r["frozen"] == frozen]
            vals.append(v[0] if v else 0)
        left.bar([x + i * width for x in range(len(pys))], vals, width, label=label)
    left.set_xticks([x + width for x in range(len(pys))])
    left.set_xticklabels(pys)
    left.set_ylabel("MB copied by the child's first full collection")
    left.set_title("objs heap (about 800k tracked objects)")
    left.legend()
    for py in sorted(set(r["python"] for r in scaling)):
        for frozen in (False, True):
            pts = sorted((r["heap"], r["collect_ms"]) for r in scaling if r["python"] == py and r["frozen"] == frozen)
            if pts:
                right.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                           linestyle="-" if frozen else "--",
                           label="%s %s" % (py, "frozen" if frozen else "not frozen"))
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("objects in the heap")
    right.set_ylabel("full collection, ms")
    right.set_title("full collection time, 10000 young objects")
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv):
    rows = load(argv[1])
    outdir = argv[2]
    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("# Benchmark results (bench/run.sh)\n\n" + table(rows) + "\n")
    plot(rows, os.path.join(outdir, "cow.png"))


if __name__ == "__main__":
    main(sys.argv)
