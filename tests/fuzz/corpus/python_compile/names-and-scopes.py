import copy

def f(x):
    deepcopy = copy.deepcopy
    def g():
        nonlocal deepcopy
        deepcopy = None
        return deepcopy
    return g()

def h(items):
    from copy import deepcopy
    global deepcopy2
    for item in items:
        class Inner:
            for y in items:
                break
        if item:
            break
        continue
    return deepcopy(items)
