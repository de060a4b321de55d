#!/usr/bin/env bash
# runs every config named in $@ as its own process on the one GPU, in parallel; then the ensembles
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
for c in "$@"; do
  python3 flights_models.py flights_train.npz "$OUT" "$c" > "$OUT/$c.log" 2>&1 &
done
wait
cat "$OUT"/*.log | grep '^{' | python3 -c "
import sys, json
for l in sys.stdin:
    r = json.loads(l); print(f\"{r['name']:14s} best {r['best_auc']:.5f} @{r['best_epoch']:2d}  {r['secs']:6.1f}s  \" + ' '.join(f'{a:.4f}' for e,a,vl in r['hist'][::3]))
"
python3 - <<'PY'
import torch, numpy as np, os, itertools
out = os.environ["OUT"]
z = np.load("flights_train.npz"); yv = torch.tensor(z["label"][z["is_validation"] == 1].astype(np.float64))
def auc(s, l):
    o = torch.argsort(s); l = l[o]; n1 = l.sum(); n0 = len(l) - n1
    r = torch.arange(1, len(l) + 1, dtype=torch.float64)
    return float(((r * l).sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
p = {f[:-3]: torch.load(f"{out}/{f}").double() for f in os.listdir(out) if f.endswith(".pt")}
for combo in [("fwfm-wd3e3-s2", "fwfm-wd3e3-s3"), ("fwfm-wd1e2", "fwfm-wd3e3-s2"), ("fwfm-wd1e3", "fwfm-wd1e3-s2"), ("fwfm-wd1e3-decay", "fwfm-wd1e3-decay-s2"), ("fwfm", "fwfm-s2"), ("fwfm", "fwfm-s2", "fwfm-s3"), ("fm", "fm-s2"), ("fm", "fwfm"), ("fwfm", "fvfm"), ("fwfm", "fwfm+mlp32")]:
    if all(c in p for c in combo):
        print("ensemble", "+".join(combo), round(auc(sum(p[c] for c in combo), yv), 5))
PY
