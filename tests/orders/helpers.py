import uuid

from orders.models import Order
from orders.services.placement import order_pay_with_points
from tests.factories import give_points


def buy_with_points(user, product) -> Order:
    """``user`` owns ``product`` after this: bought now with points granted for it (the cart is not used)."""
    give_points(user, product.price_points)
    return order_pay_with_points(user=user, idempotency_key=f"owned:{uuid.uuid4()}", product_id=product.pk)
