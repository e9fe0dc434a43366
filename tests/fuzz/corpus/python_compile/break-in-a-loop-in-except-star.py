def f():
    try:
        raise ValueError(42)
    except* Exception:
        for i in range(5):
            if i == 4:
                break
    return 1 + 1
