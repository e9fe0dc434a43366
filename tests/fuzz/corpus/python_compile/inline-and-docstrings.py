def f(): return 1 + 1
def g(): "doc"; return 'x'
def h(x): x += 1; return x
class C:
    def m(self): return self.x - 1
    async def n(self):
        """Doc."""
        return await self.m() + 1
    async def agen(self):
        yield 1 + 1
    @property
    def p(self): return not self.x
def gen(n):
    yield n + 1
    return n * 2
