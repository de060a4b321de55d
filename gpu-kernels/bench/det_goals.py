# Issue 11 goals of the deterministic mode from one CudaBench grid (fe.csv) and the PyTorch baseline of the
# same call (torch.csv), mode train: python3 det_goals.py fe.csv torch.csv
import csv, statistics, sys, collections
fe, tc = sys.argv[1], sys.argv[2]
key = lambda r: (r['suite'], r['num_embeddings'] or r['config'], r['dim'], r['batch'], r['scenario'])
rows = list(csv.DictReader(open(fe)))
at = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda' and r['mode'] == 'train'}
de = {key(r): float(r['ms_median']) for r in rows if r['impl'] == 'fe_cuda_det' and r['mode'] == 'train'}
tor = collections.defaultdict(dict)
for r in csv.DictReader(open(tc)):
    if r['mode'] == 'train':
        tor[key(r)][r['impl']] = float(r['ms_median'])
rat = {k: de[k] / at[k] for k in de}
v = sorted(rat.values())
print(f"fe_cuda_det / fe_cuda: points {len(v)}, median {statistics.median(v):.2f}, worst {v[-1]:.2f}, above 2: {sum(x > 2 for x in v)}, above 1.5: {sum(x > 1.5 for x in v)}")
for b in ('1024', '16384', '131072'):
    vb = [rat[k] for k in rat if k[3] == b]
    print(f"  batch {b}: median {statistics.median(vb):.2f}, worst {max(vb):.2f}")
for sc in sorted(set(k[4] for k in rat)):
    vb = [rat[k] for k in rat if k[4] == sc]
    print(f"  {sc}: median {statistics.median(vb):.2f}, worst {max(vb):.2f}")
dg = [tor[k]['torch_dense_graph'] / de[k] for k in de if 'torch_dense_graph' in tor[k]]
print(f"torch_dense_graph / fe_cuda_det: points {len(dg)}, median {statistics.median(dg):.2f}, min {min(dg):.2f}")
lose = []
nb = 0
for k in de:
    for impl, t in tor[k].items():
        nb += 1
        if t < de[k]:
            lose.append((t / de[k], impl, k, t, de[k], at[k]))
print(f"PyTorch columns (mode train) compared: {nb}; points where one beats fe_cuda_det: {len(set(x[2] for x in lose))}")
for x in sorted(lose):
    print(f"  {x[0]:.2f} {x[1]} {' '.join(x[2])}: torch {x[3]:.4f} det {x[4]:.4f} atomic {x[5]:.4f}")
print("worst det/atomic:")
for k in sorted(rat, key=rat.get, reverse=True)[:12]:
    print(f"  {rat[k]:.2f} {' '.join(k)}: atomic {at[k]:.4f} det {de[k]:.4f}")
