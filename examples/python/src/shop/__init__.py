"""A small shop: prices, discounts and a cart (an example for `noot run`)."""
