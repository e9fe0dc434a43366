"""Prices in cents, discounts and tax."""

TAX_RATE = 0.2


def with_tax(cents):
    return round(cents * (1 + TAX_RATE))


def discount(cents, percent):
    if percent < 0 or percent > 100:
        raise ValueError(f"discount out of range: {percent}")
    return cents - cents * percent // 100


def bulk_discount(quantity):
    """Percent off for buying many."""
    if quantity >= 100:
        return 15
    if quantity >= 10:
        return 5
    return 0


def format_price(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d} EUR"
