from shop.cart import Cart


def test_add_and_count():
    cart = Cart()
    cart.add("apple", 50, 3)
    cart.add("apple", 50, 2)
    cart.add("pear", 70)
    assert cart.count() == 6


def test_totals():
    cart = Cart()
    cart.add("pen", 100, 10)
    assert cart.subtotal() == 950
    assert cart.total() == 1140


def test_remove():
    cart = Cart()
    cart.add("pen", 100)
    cart.remove("pen")
    assert cart.is_empty()
