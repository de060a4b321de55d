#!/usr/bin/env python3
"""The cost of deterministic mode: fe_cuda_det / fe_cuda (ms_median, mode train) per point of CudaBench CSVs.

Usage: det_ratios.py [--worst K] [--table] [NAME=]fe.csv ...

For each CSV (named NAME, or by its file name), one line: the points measured in both modes, the
median and worst ratio, how many are above 2, the median / worst by batch, and the worst point.
--worst K: then the K worst points of each CSV. --table: then one row per point and one column per
CSV, each cell the ratio and, in brackets, the deterministic ms. A CSV that is missing is named and
skipped (the run that should have written it failed).
"""
import csv
import os
import statistics
import sys

KEY = ("suite", "num_embeddings", "dim", "batch", "scenario", "config")


def load(path):
    """{point: {impl: ms_median}} over the rows of mode train (the copy suite left out)."""
    d = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["suite"] == "copy" or r["mode"] != "train":
                continue
            d.setdefault(tuple(r[k] for k in KEY), {})[r["impl"]] = float(r["ms_median"])
    return d


def ratios(d):
    return {k: x["fe_cuda_det"] / x["fe_cuda"] for k, x in d.items() if "fe_cuda_det" in x and "fe_cuda" in x}


def point(k):
    return " ".join(p for p in k if p)


def main(argv):
    worst, table, runs = 0, False, []
    args = iter(argv)
    for a in args:
        if a == "--worst":
            worst = int(next(args))
        elif a == "--table":
            table = True
        else:
            name, _, path = a.rpartition("=")
            runs.append((name or os.path.basename(path), path))
    if not runs:
        sys.exit(__doc__)
    loaded = []
    for name, path in runs:
        if not os.path.exists(path):
            print(f"{name}: {path} missing")
            continue
        d = load(path)
        rs = ratios(d)
        loaded.append((name, d, rs))
        if not rs:
            print(f"{name}: no point measured in both modes")
            continue
        v = sorted(rs.values())
        by = {}
        for k, r in rs.items():
            by.setdefault(k[3], []).append(r)
        w = max(rs, key=rs.get)
        print(f"{name}: points {len(v)}  det/atomic median {statistics.median(v):.2f}  worst {v[-1]:.2f}"
              f"  above 2: {sum(x > 2 for x in v)}  by batch (median/worst): "
              + "  ".join(f"b{b} {statistics.median(x):.2f}/{max(x):.2f}"
                          for b, x in sorted(by.items(), key=lambda t: int(t[0])))
              + f"  worst at {point(w)}")
        for k in sorted(rs, key=rs.get, reverse=True)[:worst]:
            print(f"  {rs[k]:.2f} {point(k)}")
    if table and loaded:
        print("# fe_cuda_det / fe_cuda (det ms in brackets)")
        print("point".ljust(60) + "".join(name.rjust(18) for name, _, _ in loaded))
        for k in sorted(set().union(*(rs.keys() for _, _, rs in loaded))):
            line = point(k).ljust(60)
            for _, d, rs in loaded:
                line += (f"{rs[k]:7.2f} ({d[k]['fe_cuda_det']:.4f})" if k in rs else "-").rjust(18)
            print(line)
        for label, f in (("median", statistics.median), ("max", max)):
            print(label.ljust(60) + "".join((f"{f(rs.values()):7.2f}" if rs else "-").rjust(18)
                                            for _, _, rs in loaded))


if __name__ == "__main__":
    main(sys.argv[1:])
