import pytest

from shop.pricing import bulk_discount, discount, format_price, with_tax


def test_with_tax():
    assert with_tax(1000) == 1200


def test_discount():
    assert discount(1000, 10) == 900
    with pytest.raises(ValueError):
        discount(1000, 120)


def test_bulk_discount():
    assert bulk_discount(1) == 0
    assert bulk_discount(50) == 5
    assert bulk_discount(500) == 15


def test_format_price():
    assert format_price(1234) == "12.34 EUR"
