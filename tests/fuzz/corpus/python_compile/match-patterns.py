def f(x):
    match x:
        case -1:
            return 1
        case 1 + 2j:
            return 2
        case -1 - 2j:
            return 3
        case str() | bytes():
            return 4
        case [1, *rest] if rest:
            return 5
        case {"k": 1}:
            return 6
        case _:
            return 7
