"""One way of writing numbers everywhere: "1,500 points" (thousands separators, the same word) in the header
badge, the wallet and its ledger, the cart, order pages, e-mails and the admin; money as "$19.99"; a card
payment called "card"."""

import uuid

import pytest
from django.core import mail
from django.urls import reverse

from checkout.money import format_money, format_points
from orders.models import Order
from orders.services.cart import cart_add
from orders.services.notifications import order_send_confirmation
from orders.services.placement import order_pay_with_points
from tests.factories import OrderFactory, ProductFactory, ShopperFactory
from wallet.templatetags.wallet_tags import signed_points


@pytest.mark.parametrize("value, text", [(0, "0 points"), (1, "1 point"), (999, "999 points"),
                                         (1500, "1,500 points"), (1234567, "1,234,567 points"),
                                         (-2500, "-2,500 points"), (None, "0 points")])
def test_points_are_written_with_separators_and_the_word_points(value, text):
    assert format_points(value) == text


def test_ledger_amounts_carry_their_sign():
    assert (signed_points(1500), signed_points(-1), signed_points(0)) == ("+1,500 points", "\u22121 point",
                                                                           "0 points")


@pytest.mark.parametrize("cents, currency, text", [(1999, "usd", "$19.99"), (150000, "eur", "€1,500.00"),
                                                   (5, "gbp", "£0.05"), (-1999, "usd", "-$19.99")])
def test_money_is_written_in_its_currency(cents, currency, text):
    assert format_money(cents, currency) == text


@pytest.fixture
def rich_shopper(db):
    return ShopperFactory(points=12500)


def test_header_badge_wallet_and_ledger_say_the_same(client, rich_shopper):
    client.force_login(rich_shopper)

    html = client.get(reverse("wallet:home")).content.decode()

    assert 'data-balance="12500">12,500 points</a>' in html  # the header badge
    assert 'data-balance="12500">12,500 points</a>' in html
    assert '<strong data-balance="12500">12,500 points</strong>' in html  # the wallet's balance card
    assert "Balance after: 12,500 points" in html and "+12,500 points" in html  # the ledger entry
    assert " pts" not in html and "12500 points" not in html


def test_cart_order_page_and_receipt_use_the_same_format(client, rich_shopper):
    product = ProductFactory(title="Harbour Lights", price_cents=199900, price_points=1500, stock=None)
    cart_add(user=rich_shopper, product_id=product.pk)
    client.force_login(rich_shopper)

    cart = client.get(reverse("orders:cart")).content.decode()
    assert "$1,999.00" in cart and "1,500 points" in cart and "You have 12,500 points" in cart
    assert "Pay 1,500 points" in cart

    order = order_pay_with_points(user=rich_shopper, idempotency_key=f"test:{uuid.uuid4()}")
    detail = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "1,500 points" in detail and "paid with points" in detail

    assert order_send_confirmation(order_id=order.pk)
    assert "Total paid: 1,500 points" in mail.outbox[-1].body
    assert " pts" not in cart + detail + mail.outbox[-1].body


def test_a_card_order_says_card_not_stripe(client, db):
    shopper = ShopperFactory()
    order = OrderFactory(user=shopper, total_cents=1999)
    client.force_login(shopper)

    detail = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert "paid by card" in detail and "$19.99" in detail
    assert "(stripe)" not in detail.lower()
    assert Order.objects.get(pk=order.pk).get_payment_method_display() == "Card"


def test_the_admin_writes_points_the_same_way(admin_client_for_orders):
    client, order = admin_client_for_orders

    changelist = client.get(reverse("admin:orders_order_changelist")).content.decode()

    assert "3,600 points" in changelist and " pts" not in changelist


@pytest.fixture
def admin_client_for_orders(client, staff):
    order = OrderFactory(payment_method="points", total_cents=0, total_points=3600, currency="usd")
    client.force_login(staff)
    return client, order
