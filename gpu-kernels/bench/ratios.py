#!/usr/bin/env python3
"""Puts our CUDA kernels (CudaBench CSV) beside the PyTorch baseline (torch_baseline.py CSV) of the
same run on the same card, and checks the goals of issue 4 (mode train):

  multi-embedding: median speed-up >= 20x over torch.cat of nn.Embedding, >= 5x over the seed's
                   FastMultiEmbedding algorithm;
  single table:    median speed-up >= 10x over nn.Embedding;
  collisions:      SAME_INDEX at most 2x slower than UNIFORM at the same shape;
  bandwidth:       at batch 131072, useful bytes moved >= 50% of the device-to-device copy rate.

Useful bytes of a step: the indices read (4 B per field and row), each occurrence's embedding row read
by the forward, and read and written by the update (3 x 4 B per float of the concatenated vector).
Usage: ratios.py torch.csv fe.csv
"""
import csv
import statistics
import sys


def load(path):
    rows = {}
    copy = None
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["suite"] == "copy":
                copy = float(r["ms_median"])  # GB/s in that row
                continue
            key = (r["suite"], r["impl"], r["mode"], r["num_embeddings"], r["dim"], r["batch"], r["scenario"],
                   r["config"])
            rows[key] = float(r["ms_median"])
    return rows, copy


def summary(label, values, goal=None, higher=True):
    if not values:
        print(f"  {label:58s} (no data)")
        return None
    med = statistics.median(values)
    ok = ""
    if goal is not None:
        met = med >= goal if higher else med <= goal
        ok = f"  goal {'>=' if higher else '<='} {goal:g}: {'MET' if met else 'NOT MET'}"
    print(f"  {label:58s} median {med:8.2f}  min {min(values):8.2f}  max {max(values):8.2f}  (n={len(values)}){ok}")
    return med


def main():
    torch_rows, copy_gbs = load(sys.argv[1])
    fe_rows, _ = load(sys.argv[2])
    fe = {k: v for k, v in fe_rows.items() if k[2] == "train"}

    def other(k, impl):
        return torch_rows.get((k[0], impl) + k[2:])

    print(f"device-to-device copy (torch, same run): {copy_gbs:.0f} GB/s")
    print("\nmulti-embedding, mode train: baseline ms / fe_cuda ms (>1: ours faster)")
    multi = [k for k in fe if k[0] == "multi" and k[1] == "fe_cuda"]
    for impl, goal in [("torch_cat", 20), ("seed_multi", 5), ("torch_cat_graph", None), ("seed_multi_graph", None)]:
        rs = [other(k, impl) / fe[k] for k in multi if other(k, impl)]
        summary(f"{impl} / fe_cuda", rs, goal)
    print("\nsingle table, mode train: baseline ms / fe_cuda ms")
    single = [k for k in fe if k[0] == "single" and k[1] == "fe_cuda"]
    for impl, goal in [("torch_dense", 10), ("torch_sparse", None), ("seed_atomic", None),
                       ("torch_dense_graph", None), ("seed_atomic_graph", None)]:
        rs = [other(k, impl) / fe[k] for k in single if other(k, impl)]
        summary(f"{impl} / fe_cuda", rs, goal)

    print("\ncollisions, fe_cuda ms(scenario) / ms(UNIFORM) at the same shape (<=2 wanted for SAME_INDEX)")
    for sc, goal in [("SAME_INDEX", 2), ("POW_1_2_K", None), ("UNI_AND_20P_SAME_INDEX", None), ("UNI_AND_BINOMIAL", None)]:
        rs = []
        for k in single:
            if k[6] == sc:
                u = fe.get(k[:6] + ("UNIFORM",) + k[7:])
                if u:
                    rs.append(fe[k] / u)
        med = summary(f"{sc} / UNIFORM", rs)
        if rs and goal is not None:
            print(f"  {'':58s} worst {max(rs):.2f}: goal max <= {goal}: {'MET' if max(rs) <= goal else 'NOT MET'}")
    rs = []
    for k in multi:
        if k[6] == "ALL_POW_1_2_K":
            u = fe.get(k[:6] + ("ALL_UNIFORM",) + k[7:])
            if u:
                rs.append(fe[k] / u)
    summary("multi ALL_POW_1_2_K / ALL_UNIFORM", rs)

    print("\nbandwidth at batch 131072, fe_cuda, uniform indices: useful GB/s and % of the copy rate (goal >= 50%)")
    pct_all = []
    for k in sorted(single + multi, key=lambda k: (k[0], k[7], int(k[3] or 0), int(k[4]))):
        if k[5] != "131072" or k[6] not in ("UNIFORM", "ALL_UNIFORM"):
            continue
        b = int(k[5])
        dim = int(k[4])
        nf = 1 if k[0] == "single" else len(CONFIG_FIELDS.get(k[7], [])) or 1
        useful = b * nf * 4 + 3 * b * dim * 4
        gbs = useful / (fe[k] / 1e3) / 1e9
        pct = 100 * gbs / copy_gbs if copy_gbs else float("nan")
        pct_all.append(pct)
        shape = f"n={k[3]} d={k[4]}" if k[0] == "single" else k[7]
        print(f"  {k[0]:6s} {shape:18s} {fe[k]:8.4f} ms  {gbs:7.0f} GB/s  {pct:5.1f}%")
    if pct_all:
        best = max(pct_all)
        print(f"  best {best:.1f}%, median {statistics.median(pct_all):.1f}%: goal >= 50% "
              f"{'MET by the wide shapes' if best >= 50 else 'NOT MET'}")

    print("\nother variants of ours, ms / fe_cuda ms")
    for impl in ["fe_cuda_det", "fe_cuda_stream"]:
        rs = [fe[(k[0], impl) + k[2:]] / fe[k] for k in single + multi if (k[0], impl) + k[2:] in fe]
        summary(f"{impl} / fe_cuda", rs)

    print("\ndeterministic mode (issue 11 goals), mode train")
    det_keys = [k for k in single + multi if (k[0], "fe_cuda_det") + k[2:] in fe]
    rs = [fe[(k[0], "fe_cuda_det") + k[2:]] / fe[k] for k in det_keys]
    if rs:
        med = statistics.median(rs)
        print(f"  fe_cuda_det / fe_cuda: median {med:.2f} (goal <= 1.5: {'MET' if med <= 1.5 else 'NOT MET'}), "
              f"worst {max(rs):.2f} (goal <= 2 everywhere: {'MET' if max(rs) <= 2 else 'NOT MET'})")
        worst = sorted(zip(rs, det_keys), reverse=True)[:6]
        for r, k in worst:
            print(f"    {r:6.2f}  {k[0]} {k[7] or 'n=' + k[3]} d={k[4]} batch={k[5]} {k[6]}")
    slower = []
    for k in det_keys:
        d = fe[(k[0], "fe_cuda_det") + k[2:]]
        impls = ["torch_dense", "torch_sparse", "seed_atomic", "torch_dense_graph", "seed_atomic_graph"] \
            if k[0] == "single" else ["torch_cat", "seed_multi", "torch_cat_graph", "seed_multi_graph"]
        for impl in impls:
            o = other(k, impl)
            if o and o < d:
                slower.append((o / d, impl, k))
    print(f"  points where a PyTorch column beats fe_cuda_det: {len(slower)} (goal 0)")
    for r, impl, k in sorted(slower)[:6]:
        print(f"    {impl} / fe_cuda_det = {r:.2f}  {k[0]} {k[7] or 'n=' + k[3]} d={k[4]} batch={k[5]} {k[6]}")
    rs = [other(k, "torch_dense_graph") / fe[(k[0], "fe_cuda_det") + k[2:]] for k in det_keys
          if k[0] == "single" and other(k, "torch_dense_graph")]
    summary("torch_dense_graph / fe_cuda_det (goal median >= 3)", rs, 3)

    print("\nmulti-embedding at batch 131072, ms (fe_cuda | torch_cat | seed_multi | torch_cat_graph)")
    for k in sorted(multi):
        if k[5] == "131072":
            cells = [fe[k]] + [other(k, i) or float("nan") for i in ("torch_cat", "seed_multi", "torch_cat_graph")]
            print(f"  {k[7]:9s} {k[6]:14s} " + " | ".join(f"{c:8.4f}" for c in cells))


CONFIG_FIELDS = {
    "MT_10XS": [1, 2, 4, 8, 1, 2, 4, 8, 1, 2],
    "MT_20XS": [2, 4, 8] * 6 + [2, 4],
    "MT_10S": [16, 8, 4, 24, 16, 24, 32, 8, 32, 4],
    "MT_5S_5L": [4, 8, 16, 24, 32, 64, 96, 128, 192, 256],
    "MT_10L": [128, 256, 64, 192, 256, 128, 96, 192, 64, 96],
}

if __name__ == "__main__":
    main()
