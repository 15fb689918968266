import pytest

from orders.services.cart import cart_add
from tests.factories import ProductFactory


@pytest.fixture
def two_pictures(db):
    return [ProductFactory(title="Harbour Lights", price_cents=499, price_points=450),
            ProductFactory(title="Desert Bloom", price_cents=299, price_points=280, stock=3)]


@pytest.fixture
def filled_cart(shopper, two_pictures):
    cart_add(user=shopper, product_id=two_pictures[0].pk)
    cart_add(user=shopper, product_id=two_pictures[1].pk)
    return shopper  # 450 + 280 = 730 points, 4.99 + 2.99 = 7.98 USD
