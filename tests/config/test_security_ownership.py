"""Every view that takes an id answers 404 to anyone but the owner: orders, checkout sessions, downloads, carts.

The routes are walked from the URLconf, so a new route that takes an id is checked here without a new test; a
route with a kind of parameter this file does not know fails ``test_every_parameter_kind_is_accounted_for``."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from checkout.models import CheckoutSession
from orders.downloads import download_token
from orders.models import CartItem
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.factories import CheckoutSessionFactory, ProductFactory, ShopperFactory, UserFactory

OWNED = {"session_id", "order_id"}  # looked up together with the signed-in shopper: 404 for anyone else
# Parameters that are not someone's private object: what keeps each one safe.
ACCOUNTED_FOR = {
    "slug": "public catalog pages",
    "path": "public preview images",
    "product_id": "cart rows are looked up in the signed-in shopper's own cart (test below)",
    "token": "signed download links naming their buyer (test below); Django's password-reset tokens with the "
             "account's uidb64; signed e-mail change links naming the account, its address and password "
             "(tests/shop/test_email_change.py)",
    "mail_id": "the demo mailbox, demo mode only (DEBUG, never a public server): it shows every mail the demo sent, "
               "to anyone, by design",
    "uidb64": "with a password-reset token made from the account's password hash: a uid alone opens nothing",
    "stripe_session_id": "the demo Stripe page, 404 outside demo mode; like Stripe's own hosted page, its id is "
                         "the secret",
}


def shop_routes(resolver=None, prefix="", namespace=""):
    """(route name, path parameters) for every non-admin route."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            child_namespace = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from shop_routes(entry, prefix + str(entry.pattern), child_namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", set(entry.pattern.regex.groupindex)


def test_every_parameter_kind_is_accounted_for():
    unknown = {(name, parameter) for name, parameters in shop_routes() for parameter in parameters
               if parameter not in OWNED | set(ACCOUNTED_FOR)}

    assert unknown == set()


@pytest.fixture
def victim_objects(db):
    victim = ShopperFactory(points=500)
    product = ProductFactory(price_points=100)
    cart_add(user=victim, product_id=product.pk)
    order = order_pay_with_points(user=victim, idempotency_key="ownership-test")
    session = CheckoutSessionFactory(user=victim)
    in_cart = ProductFactory()
    cart_add(user=victim, product_id=in_cart.pk)
    return {"victim": victim, "order": order, "session": session, "product": product, "in_cart": in_cart}


@pytest.mark.parametrize("name", sorted(name for name, parameters in shop_routes() if parameters & OWNED))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_shoppers_ids_are_not_found(client, victim_objects, name, method):
    route_parameters = dict(shop_routes())[name]
    kwargs = {"session_id": victim_objects["session"].pk, "order_id": victim_objects["order"].pk}
    url = reverse(name, kwargs={key: value for key, value in kwargs.items() if key in route_parameters})
    client.force_login(UserFactory())

    response = getattr(client, method)(url, headers={"HX-Request": "true"} if method == "post" else {})

    assert response.status_code in (404, 405), (name, response.status_code)
    session = CheckoutSession.objects.get(pk=victim_objects["session"].pk)
    assert (session.status, session.stripe_session_id) == ("active", None)
    victim_objects["order"].refresh_from_db()
    assert victim_objects["order"].status == "completed"


def test_a_buyers_download_link_is_not_found_for_anyone_else(client, victim_objects):
    order = victim_objects["order"]
    link = reverse("orders:download", args=[download_token(item=order.items.first(), user_id=order.user_id)])
    client.force_login(UserFactory())

    assert client.get(link).status_code == 404


def test_cart_changes_only_ever_touch_the_signed_in_shoppers_own_cart(client, victim_objects):
    product = victim_objects["in_cart"]
    client.force_login(UserFactory())

    client.post(reverse("orders:cart_remove", args=[product.pk]))
    client.post(reverse("orders:cart_add"), {"product_id": product.pk})

    assert CartItem.objects.filter(user=victim_objects["victim"], product=product).exists()
    assert CartItem.objects.filter(product=product).count() == 2  # the victim's line and the other shopper's own
