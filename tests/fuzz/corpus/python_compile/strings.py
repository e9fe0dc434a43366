def f(d):
    a = 'ß' + "ﬁ" + b'\xAB' + u'İ'
    b = r'\N{DIGIT ONE}' + '\N{DIGIT ONE}' + '\x4a\u00e9\U0001F600'
    c = f"{d['k']}" + f'{d["k"]!r:>{10}}' + rb'\X'
    e = ('implicit' 'concatenation' "here")
    g = '\\' + '\'' + "\"" + '''tri'ple''' + """tri"ple"""
    return a, b, c, e, g, 'ǅ'.lower(), "µ".upper()
