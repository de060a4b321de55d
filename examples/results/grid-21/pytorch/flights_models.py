"""Scratch exploration (not the product): which model structures lift flights' validation AUC above
fm / fwfm on the five base columns. Data: the flights training part only (split seed 42) with
QualityGrid's validation flag (seed 7); the test rows are not in the file.
usage: flights_models.py DATA.npz OUTDIR CONFIG"""
import sys, time, json
import numpy as np, torch, torch.nn as nn

dev = torch.device("cuda")
z = np.load(sys.argv[1])
out_dir = sys.argv[2]
cols = ["origin", "destination", "route", "hour", "weekday"]
Xc = np.stack([z[c].astype(np.int64) for c in cols], 1)
sizes = [int(Xc[:, i].max()) + 1 for i in range(Xc.shape[1])]
offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
X = torch.tensor(Xc + offs[None, :], device=dev)
dist = torch.tensor(z["distance"].astype(np.float32), device=dev)
dist = (dist - dist.mean()) / dist.std()
y = torch.tensor(z["label"].astype(np.float32), device=dev)
val = torch.tensor(z["is_validation"].astype(bool), device=dev)
tr_idx = torch.nonzero(~val).squeeze(1)
va_idx = torch.nonzero(val).squeeze(1)
NF, ROWS = len(sizes), int(sum(sizes))

def auc(score, label):
    o = torch.argsort(score)
    l = label[o].double()
    n1 = l.sum(); n0 = len(l) - n1
    ranks = torch.arange(1, len(l) + 1, device=dev, dtype=torch.float64)
    return float(((ranks * l).sum() - n1 * (n1 + 1) / 2) / (n1 * n0))

class Model(nn.Module):
    def __init__(s, kind, d, seed, hidden, init):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        s.kind, s.d = kind, d
        s.E = nn.Parameter(torch.randn(ROWS, d, generator=g) * init)
        s.W1 = nn.Parameter(torch.zeros(ROWS))
        s.u = nn.Parameter(torch.zeros(1)); s.b = nn.Parameter(torch.zeros(1))
        s.v = nn.Parameter(torch.randn(d, generator=g) * init)
        K = NF + 1
        pairs = [(a, b) for a in range(K) for b in range(a + 1, K)]
        P = len(pairs)
        s.pa = torch.tensor([p[0] for p in pairs], device=dev)
        s.pb = torch.tensor([p[1] for p in pairs], device=dev)
        base = kind.split("+")[0]
        s.base = base
        if base == "fwfm":
            s.r = nn.Parameter(torch.ones(P))
        elif base == "fvfm":
            s.r = nn.Parameter(torch.ones(P, d))
        elif base == "fmfm":
            s.r = nn.Parameter(torch.eye(d).repeat(P, 1, 1))
        s.mlp = None
        if kind.endswith("+mlp"):
            layers, w = [], K * d
            for hh in hidden:
                layers += [nn.Linear(w, hh), nn.ReLU()]; w = hh
            layers += [nn.Linear(w, 1)]
            s.mlp = nn.Sequential(*layers)

    def forward(s, x, zz):
        L = torch.cat([s.E[x], (zz[:, None] * s.v[None, :])[:, None, :]], 1)  # B x K x d
        y = s.b + s.W1[x].sum(1) + s.u * zz
        if s.base == "fm":
            S = L.sum(1)
            y = y + 0.5 * (S * S - (L * L).sum(1)).sum(1)
        else:
            A, Bv = L[:, s.pa], L[:, s.pb]
            if s.base == "fwfm":
                y = y + ((A * Bv).sum(2) * s.r).sum(1)
            elif s.base == "fvfm":
                y = y + (A * Bv * s.r).sum((1, 2))
            elif s.base == "fmfm":
                y = y + torch.einsum("bpd,pde,bpe->b", A, s.r, Bv)
        if s.mlp is not None:
            y = y + s.mlp(L.reshape(len(x), -1)).squeeze(1)
        return y

def run(name, kind="fm", d=32, lr=0.03, epochs=25, seed=1, batch=1024, wd=1e-4, hidden=(256, 128),
        mlp_lr=1e-3, init=0.01, drop=0.0, decay_start=10**9, decay=1.0):
    torch.manual_seed(seed)
    m = Model(kind, d, seed, hidden, init).to(dev)
    head = [m.u, m.b, m.v] + ([m.r] if hasattr(m, "r") else [])
    opt = torch.optim.Adagrad([{"params": [m.E, m.W1]}, {"params": head}], lr=lr, eps=1e-8)
    opt2 = torch.optim.Adam(m.mlp.parameters(), lr=mlp_lr) if m.mlp is not None else None
    g = torch.Generator(device=dev).manual_seed(seed)
    hist = []
    t0 = time.time()
    best = (0, -1, None)
    for ep in range(epochs):
        if ep >= decay_start:
            for gr in opt.param_groups:
                gr['lr'] *= decay
        perm = tr_idx[torch.randperm(len(tr_idx), device=dev, generator=g)]
        for i in range(0, len(perm), batch):
            bi = perm[i:i + batch]
            xb = X[bi]
            out = m(xb, dist[bi])
            loss = nn.functional.binary_cross_entropy_with_logits(out, y[bi])
            # L2 on the touched rows, once per occurrence (the stage's rule)
            loss = loss + wd / 2 * ((m.E[xb] ** 2).sum() + (m.W1[xb] ** 2).sum()) / len(bi)
            opt.zero_grad(set_to_none=True)
            if opt2: opt2.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if opt2: opt2.step()
        with torch.no_grad():
            s = torch.cat([m(X[va_idx[i:i + 65536]], dist[va_idx[i:i + 65536]])
                           for i in range(0, len(va_idx), 65536)])
            vl = float(nn.functional.binary_cross_entropy_with_logits(s, y[va_idx]))
            a = auc(s, y[va_idx])
        hist.append((ep + 1, round(a, 5), round(vl, 5)))
        print('epoch', ep + 1, round(a, 5), round(vl, 5), round(time.time() - t0, 1), flush=True)
        if a > best[0]:
            best = (a, ep + 1, s.clone())
    torch.save(best[2].cpu(), f"{out_dir}/{name}.pt")
    print(json.dumps({"name": name, "best_auc": round(best[0], 5), "best_epoch": best[1],
                      "secs": round(time.time() - t0, 1), "hist": hist}), flush=True)

CONFIGS = {
    "fm": dict(kind="fm"),
    "fm-s2": dict(kind="fm", seed=2),
    "fwfm": dict(kind="fwfm"),
    "fwfm-s2": dict(kind="fwfm", seed=2),
    "fwfm-s3": dict(kind="fwfm", seed=3),
    "fvfm": dict(kind="fvfm"),
    "fmfm16": dict(kind="fmfm", d=16),
    "fwfm-lr05": dict(kind="fwfm", lr=0.05),
    "fwfm-lr015": dict(kind="fwfm", lr=0.015, epochs=35),
    "fwfm-d64": dict(kind="fwfm", d=64),
    "fwfm-b256": dict(kind="fwfm", batch=256, epochs=15),
    "fwfm-wd1e3": dict(kind="fwfm", wd=1e-3),
    "fwfm+mlp16": dict(kind="fwfm+mlp", d=16, epochs=15),
    "fwfm+mlp32": dict(kind="fwfm+mlp", d=32, epochs=15),
    "fm+mlp32": dict(kind="fm+mlp", d=32, epochs=15),
    "fvfm-lr05": dict(kind="fvfm", lr=0.05),
    "fwfm-wd3e3": dict(kind="fwfm", wd=3e-3),
    "fwfm-wd1e3-lr015": dict(kind="fwfm", wd=1e-3, lr=0.015, epochs=28),
    "fwfm-decay": dict(kind="fwfm", decay_start=6, decay=0.7, epochs=16),
    "fwfm-decay5": dict(kind="fwfm", decay_start=4, decay=0.5, epochs=12),
    "fwfm-wd1e3-decay": dict(kind="fwfm", wd=1e-3, decay_start=6, decay=0.7, epochs=16),
    "fwfm-wd1e3-s2": dict(kind="fwfm", wd=1e-3, seed=2),
    "fwfm-wd1e3-decay-s2": dict(kind="fwfm", wd=1e-3, decay_start=6, decay=0.7, epochs=16, seed=2),
    "fwfm-lr01": dict(kind="fwfm", lr=0.01, epochs=40),
    "fm-wd1e3": dict(kind="fm", wd=1e-3),
    "fm-decay": dict(kind="fm", decay_start=8, decay=0.7, epochs=20),
    "fm-wd1e3-decay": dict(kind="fm", wd=1e-3, decay_start=8, decay=0.7, epochs=20),
    "fwfm-mlp64": dict(kind="fwfm+mlp", hidden=(64, 32), epochs=15),
    "fwfm-wd1e3-lr05-decay": dict(kind="fwfm", wd=1e-3, lr=0.05, decay_start=3, decay=0.7, epochs=14),
    "fwfm-wd5e3": dict(kind="fwfm", wd=5e-3, epochs=20),
    "fwfm-wd1e2": dict(kind="fwfm", wd=1e-2, epochs=20),
    "fwfm-wd2e2": dict(kind="fwfm", wd=2e-2, epochs=20),
    "fwfm-wd3e3-s2": dict(kind="fwfm", wd=3e-3, epochs=20, seed=2),
    "fwfm-wd3e3-s3": dict(kind="fwfm", wd=3e-3, epochs=20, seed=3),
    "fwfm-wd3e3-d16": dict(kind="fwfm", wd=3e-3, d=16, epochs=20),
    "fwfm-wd3e3-d64": dict(kind="fwfm", wd=3e-3, d=64, epochs=20),
    "fwfm-wd3e3-lr05": dict(kind="fwfm", wd=3e-3, lr=0.05, epochs=16),
    "fm-wd3e3": dict(kind="fm", wd=3e-3, epochs=20),
    "fwfm-wd1e2-lr05": dict(kind="fwfm", wd=1e-2, lr=0.05, epochs=16),
    "fvfm-wd3e3": dict(kind="fvfm", wd=3e-3, epochs=20),
    "fwfm-wd3e3-b256": dict(kind="fwfm", wd=3e-3, batch=256, epochs=10),
}
if __name__ == "__main__":
    name = sys.argv[3]
    run(name, **CONFIGS[name])
