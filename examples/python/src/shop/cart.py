"""A shopping cart."""

from shop.pricing import bulk_discount, discount, with_tax


class Cart:
    def __init__(self):
        self.lines = {}

    def add(self, sku, unit_cents, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        price, count = self.lines.get(sku, (unit_cents, 0))
        self.lines[sku] = (price, count + quantity)

    def remove(self, sku):
        self.lines.pop(sku, None)

    def count(self):
        return sum(count for _, count in self.lines.values())

    def subtotal(self):
        total = 0
        for price, count in self.lines.values():
            total += discount(price * count, bulk_discount(count))
        return total

    def total(self):
        return with_tax(self.subtotal())

    def is_empty(self):
        return not self.lines
