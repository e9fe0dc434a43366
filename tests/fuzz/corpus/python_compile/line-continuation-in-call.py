def f(g, file):
    return g("RETR " + file, \
             print, 1024)

def h(g):
    return g("exec", "start",\
             (1,), {})
