def f(g, *a, **k):
    x = g(*a, **k)
    y = g(1, *a, key=2, **k)
    z = dict(a=1, b=2)
    w = lambda: None
    v = lambda q: (yield)
    u = g(x for x in a)
    t = print(*a, sep='')
    s = len(a) + isinstance(x, int)
    return x.split(',', 1), y.rsplit(maxsplit=1), z, w, v, u, t, s
