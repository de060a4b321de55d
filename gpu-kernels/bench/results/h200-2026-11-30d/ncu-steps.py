# The kernels of the last atomic and the last deterministic step of each point, from ncu --csv durations
# (run-det12.sh step ncu): python3 ncu-steps.py ncu-dur-X.csv ncu-dur-X-bench.csv
import csv, collections, sys
f, bench = sys.argv[1], sys.argv[2]
rows=[r for r in csv.reader(open(f)) if len(r)>10 and r[0]!='ID']
k=collections.OrderedDict()
for r in rows:
    d=k.setdefault(r[0],{'name':r[4].split('(')[0],'grid':r[8],'block':r[7]})
    d[r[12]]=r[14].replace(',','')
seq=list(k.values())
steps=[];cur=[]
for d in seq:
    if d['name'].startswith('linear_forward') and cur: steps.append(cur);cur=[]
    cur.append(d)
steps.append(cur)
pts=[(r['suite'],r['num_embeddings'] or r['config'],r['dim'],r['batch'],r['scenario']) for r in csv.DictReader(open(bench)) if r['impl']=='fe_cuda']
i=0
for p in pts:
    for kind in ('atomic','det'):
        ss=steps[i:i+8]; i+=8
        last=ss[-1]
        desc=' + '.join(f"{d['name']}{d['grid']} {float(d['gpu__time_duration.sum'])/1000:.1f}" for d in last)
        tot=sum(float(d['gpu__time_duration.sum']) for d in last)/1000
        print(' '.join(p), kind, f"sum {tot:.1f} us:", desc)
