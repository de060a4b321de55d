import sys, csv, glob, numpy as np
f = glob.glob(sys.argv[1] + "/part-*.csv")[0]
rows = {k: [] for k in ["origin", "destination", "hour", "weekday", "distance", "label", "is_validation"]}
with open(f) as fh:
    r = csv.DictReader(fh)
    for row in r:
        for k in rows: rows[k].append(row[k])
def idx(vals):
    u = {v: i for i, v in enumerate(sorted(set(vals)))}
    return np.array([u[v] for v in vals], dtype=np.int16)
o = idx(rows["origin"]); d = idx(rows["destination"])
route = idx([a + "-" + b for a, b in zip(rows["origin"], rows["destination"])])
np.savez_compressed(sys.argv[2], origin=o, destination=d, route=route, hour=idx(rows["hour"]).astype(np.int8),
    weekday=idx(rows["weekday"]).astype(np.int8), distance=np.array(rows["distance"], dtype=np.float32),
    label=np.array([float(x) for x in rows["label"]], dtype=np.int8),
    is_validation=np.array(rows["is_validation"], dtype=np.int8))
print(len(o), "rows")
