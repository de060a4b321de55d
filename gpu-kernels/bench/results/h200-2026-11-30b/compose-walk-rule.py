#!/usr/bin/env python3
import csv, statistics, sys

import numpy as np
rng=np.random.default_rng(1)
def draw(b,n,sc):
    if sc in("UNIFORM","ALL_UNIFORM"): return rng.integers(0,n,b)
    if sc in("POW_1_2_K","ALL_POW_1_2_K"):
        idx=np.zeros(b,int); off=0; L=b; k=0
        while L>0:
            idx[off:off+L//2]=k; L//=2; off+=L; k+=1
        return np.minimum(idx,n-1)
    if sc=="SAME_INDEX": return np.full(b,rng.integers(0,n))
    if sc in("UNI_AND_BINOMIAL","ALL_MIXED"):
        m=(n-1)*.99; sd=np.sqrt((n-1)*.99*.01)
        v=np.clip(np.round(m+sd*rng.standard_normal(b)),0,n-1).astype(int); v[:b//2]=rng.integers(0,n,b//2); return v
    if sc=="UNI_AND_20P_SAME_INDEX":
        v=rng.integers(0,n,b); v[:b//5]=0; return v
MT={"MT_10XS":[1,2,4,8,1,2,4,8,1,2],"MT_20XS":[2,4,8]*6+[2,4],"MT_10S":[16,8,4,24,16,24,32,8,32,4],"MT_5S_5L":[4,8,16,24,32,64,96,128,192,256],"MT_10L":[128,256,64,192,256,128,96,192,64,96]}
base=[1000,5000,10000,50000]
def touched(k):
    suite,n,d,b,sc,cfg=k; b=int(b)
    if suite=="single": return len(np.unique(draw(b,int(n),sc)))
    dims=MT[cfg]; return sum(len(np.unique(draw(b,base[i%4],sc))) for i in range(len(dims)))
def load(p):
    d={}
    for r in csv.DictReader(open(p)):
        if r['suite']=='copy' or r['mode']!='train': continue
        k=(r['suite'],r['num_embeddings'],r['dim'],r['batch'],r['scenario'],r['config'])
        d.setdefault(k,{})[r['impl']]=float(r['ms_median'])
    return d

# Composes the committed walk rule (parallel below 49152 touched rows, else serial) from run 1's two
# measured runs: fe.csv (parallel walk always) and fe-S.csv (serial walk always), point by point, with the
# PyTorch baseline of the same call. Touched rows per point are estimated by redrawing the benchmark's
# index scenarios (numpy, not the benchmark's Java generator). Usage: compose-walk-rule.py RUN1_DIR
run = sys.argv[1]
def load3(p):
    d = {}
    for r in csv.DictReader(open(p)):
        if r['suite'] == 'copy' or r['mode'] != 'train':
            continue
        k = (r['suite'], r['num_embeddings'], r['dim'], r['batch'], r['scenario'], r['config'])
        d.setdefault(k, {})[r['impl']] = float(r['ms_median'])
    return d
N = load3(run + '/fe.csv'); S = load3(run + '/fe-S.csv'); P = load3(run + '/torch.csv')
rows, slower, dense = [], [], []
for k, v in N.items():
    if 'fe_cuda_det' not in v:
        continue
    tc = touched(k)
    src = S[k] if tc >= 49152 else v
    det = src['fe_cuda_det']
    rows.append((det / src['fe_cuda'], tc, k))
    for impl, t in P.get(k, {}).items():
        if t < det:
            slower.append((t / det, impl, k))
    if 'torch_dense_graph' in P.get(k, {}):
        dense.append(P[k]['torch_dense_graph'] / det)
r = [x for x, _, _ in rows]
print("fe_cuda_det / fe_cuda: median %.2f, worst %.2f, %d of %d points above 2" % (statistics.median(r), max(r), sum(x > 2 for x in r), len(r)))
by = {}
for x, _, k in rows:
    by.setdefault(k[3], []).append(x)
for b in sorted(by, key=int):
    print("  batch %s: median %.2f, worst %.2f" % (b, statistics.median(by[b]), max(by[b])))
print("torch_dense_graph / fe_cuda_det: median %.2f, min %.2f" % (statistics.median(dense), min(dense)))
print("points where a PyTorch column beats fe_cuda_det: %d" % len(slower))
for a, impl, k in sorted(slower):
    print("  %.2f %s %s" % (a, impl, " ".join(x for x in k if x)))
print("worst points (ratio, estimated touched rows, point):")
for x, tc, k in sorted(rows, reverse=True)[:12]:
    print("  %.2f %7d %s" % (x, tc, " ".join(x for x in k if x)))
