def f(a,
      b=1 + 1):
	x = a \
		+ b
	if x > 1 and \
	   x < 10:
		return x ** 2
	return -x
