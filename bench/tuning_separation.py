import glob,math,sys
d,th=sys.argv[1],float(sys.argv[2])
T=[]
for f in sorted(glob.glob(d+'/*.dat')):
    v=[float(l.split()[1]) for l in open(f) if not l.startswith('#')]
    T.append(v)
mu=[sum(v[-1000:])/1000 for v in T]
for w in [50,100,150,200,300]:
    for name,fn in [('mean',lambda v:sum(v[:w])/w),('lastq',lambda v:sum(v[w-w//4:w])/(w//4)),('lasthalf',lambda v:sum(v[w//2:w])/(w-w//2)),('median',lambda v:sorted(v[:w])[w//2])]:
        s=sorted(((fn(v),m>th) for v,m in zip(T,mu)),reverse=True)
        # count irrelevant before first relevant, and before 2nd relevant
        c=0;fp=0;res=[]
        for sc,lab in s:
            if lab: c+=1
            else:
                fp+=1; res.append(c)
                if fp==3: break
        # rank correlation-ish: log-log R2 of early stat vs mu among relevant
        print(w,name,'TP before FP1..3:',res)
