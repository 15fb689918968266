"""Two tabs on one cart: each cart page renders what it shows into its pay forms (``cart_seen``), so a pay from a
tab that is behind says what happened meanwhile -- paid (naming the order), emptied or changed -- and pays
nothing; the page's live refresh says the same."""

import json
import re
import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.models import CartItem, Order
from orders.services.cart import cart_add, cart_remove
from orders.services.placement import order_pay_with_points
from orders.services.refunds import order_refund_points
from tests.factories import ProductFactory, give_points
from wallet.selectors import wallet_balance

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cart_of_two(shopper):
    give_points(shopper, 2000)
    pictures = [ProductFactory(title="Harbour Lights", price_points=450, price_cents=499),
                ProductFactory(title="Desert Bloom", price_points=280, price_cents=299)]
    for picture in pictures:
        cart_add(user=shopper, product_id=picture.pk)
    return pictures


def seen_on(page) -> str:
    """The ``cart_seen`` the page's pay forms carry (both forms carry the same)."""
    values = set(re.findall(r'name="cart_seen" value="([^"]+)"', page.content.decode()))
    assert len(values) == 1, values  # the forms and the refresh carry the same
    return values.pop()


def pay_points(client, seen, *, htmx=True, token=None):
    return client.post(reverse("orders:pay_with_points"), {"checkout_token": token or str(uuid.uuid4()),
                                                           "cart_seen": seen}, headers=HTMX if htmx else {})


def pay_card(client, seen, *, htmx=True, **extra):
    return client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4()), "cart_seen": seen,
                                                       **extra}, headers=HTMX if htmx else {})


def test_paying_from_a_tab_behind_a_paid_cart_names_the_order_and_pays_nothing(shopper, shopper_client, cart_of_two):
    # given: two tabs show the cart; the first pays it with points
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    paid = order_pay_with_points(user=shopper, idempotency_key=f"points:{shopper.pk}:{uuid.uuid4()}")
    balance = wallet_balance(user=shopper).current

    # when: the second tab pays with points, then by card
    for response in (pay_points(shopper_client, stale), pay_card(shopper_client, stale)):
        # then: it says the cart was paid, links the order, says "empty" at most once, and nothing more is paid
        body = response.content.decode()
        assert response.status_code == 200
        assert f"This cart was paid a moment ago: <a href=\"{reverse('orders:detail', args=[paid.pk])}\">" \
               f"order {paid.short_id}</a>" in body
        assert "Your cart is empty" not in body and "Nothing else is in your cart." in body
        # the page was behind: its badges fetch themselves again
        assert set(json.loads(response["HX-Trigger"])) == {"balance-changed", "cart-changed"}
    assert list(Order.objects.values_list("pk", flat=True)) == [paid.pk]
    assert wallet_balance(user=shopper).current == balance
    assert not CheckoutSession.objects.filter(kind="cart").exists()


def test_a_tab_behind_a_card_payment_says_so_too(shopper, shopper_client, cart_of_two, webhooks,
                                                 django_capture_on_commit_callbacks):
    # given: one tab pays the cart by card on Stripe's page
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    started = pay_card(shopper_client, seen_on(shopper_client.get(reverse("orders:cart"))), htmx=False)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(started["Location"], {"action": "pay"})
    order.refresh_from_db()
    assert order.status == "completed" and not CartItem.objects.filter(user=shopper).exists()

    # when: the other tab, still showing the cart, pays with points
    response = pay_points(shopper_client, stale)

    # then
    assert f"This cart was paid a moment ago: <a href=\"{reverse('orders:detail', args=[order.pk])}\">" \
           in response.content.decode()
    assert Order.objects.count() == 1


def test_without_htmx_the_message_links_the_order(shopper, shopper_client, cart_of_two):
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    paid = order_pay_with_points(user=shopper, idempotency_key=f"points:{shopper.pk}:{uuid.uuid4()}")

    response = pay_points(shopper_client, stale, htmx=False)

    assert response.status_code == 302 and response["Location"] == reverse("orders:cart")
    page = shopper_client.get(response["Location"]).content.decode()
    assert f"This cart was paid a moment ago: order {paid.short_id}." in page
    assert f'<a href="{reverse("orders:detail", args=[paid.pk])}">See order {paid.short_id}</a>' in page
    assert page.count("Your cart is empty") == 1  # the empty cart itself; the message says what happened


def test_a_cart_emptied_by_the_shopper_is_not_called_paid(shopper, shopper_client, cart_of_two):
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    for picture in cart_of_two:
        cart_remove(user=shopper, product_id=picture.pk)

    body = pay_points(shopper_client, stale).content.decode()

    assert "Your cart was emptied in another tab or window; nothing was paid." in body
    assert "paid a moment ago" not in body
    assert not Order.objects.exists()


def test_an_earlier_order_of_the_same_product_is_not_this_cart(shopper, shopper_client, cart_of_two):
    # given: the first picture was bought long before this page showed the cart, then refunded (so it can be
    # bought again), and is in the cart again
    first = order_pay_with_points(user=shopper, idempotency_key=f"points:{shopper.pk}:{uuid.uuid4()}")
    first.payments.update(created_at=first.created_at.replace(year=first.created_at.year - 1))
    order_refund_points(order_id=first.pk, staff_user=None, reason="Bought by mistake")
    cart_add(user=shopper, product_id=cart_of_two[0].pk)
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    cart_remove(user=shopper, product_id=cart_of_two[0].pk)

    body = pay_points(shopper_client, stale).content.decode()

    assert "emptied in another tab" in body and first.short_id not in body


def test_a_cart_changed_in_another_tab_is_not_paid_until_the_shopper_sees_it(shopper, shopper_client, cart_of_two):
    # given: a third picture was added in another tab after this page showed the cart
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    cart_add(user=shopper, product_id=ProductFactory(title="Night Market", price_points=90).pk)

    # when: this tab pays for what it shows
    response = pay_points(shopper_client, stale)

    # then: nothing is paid; the cart is shown as it is now with a form for it, and that one pays
    body = response.content.decode()
    assert "Your cart changed in another tab or window; nothing was paid." in body
    assert "Night Market" in body and "Pay 820 points" in body
    assert not Order.objects.exists()
    paid = pay_points(shopper_client, seen_on(response))
    assert "is paid" in paid.content.decode()
    assert Order.objects.get().total_points == 820


def test_a_price_change_since_the_page_was_shown_is_a_change(shopper, shopper_client, cart_of_two):
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    cart_of_two[0].__class__.objects.filter(pk=cart_of_two[0].pk).update(price_points=500)

    body = pay_points(shopper_client, stale).content.decode()

    assert "Your cart changed" in body and "Pay 780 points" in body
    assert not Order.objects.exists()


def test_a_double_submit_still_finds_its_order(shopper, shopper_client, cart_of_two):
    page = shopper_client.get(reverse("orders:cart"))
    token = str(uuid.uuid4())

    first = pay_points(shopper_client, seen_on(page), token=token)
    second = pay_points(shopper_client, seen_on(page), token=token)

    order = Order.objects.get()
    assert f"Order {order.short_id} is paid" in first.content.decode()
    assert f"Order {order.short_id} is paid" in second.content.decode()


@pytest.mark.parametrize("seen", ["", "not-signed", "x" * 5000])
def test_a_form_without_a_valid_view_of_the_cart_pays_the_cart_as_before(shopper, shopper_client, cart_of_two,
                                                                         seen):
    response = pay_points(shopper_client, seen)

    assert response.status_code == 200 and "is paid" in response.content.decode()
    assert Order.objects.get().total_points == 730


def test_the_refreshed_cart_says_it_was_paid_and_keeps_saying_so(shopper, shopper_client, cart_of_two):
    # given: a tab shows the cart, and the cart is paid elsewhere
    stale = seen_on(shopper_client.get(reverse("orders:cart")))
    paid = order_pay_with_points(user=shopper, idempotency_key=f"points:{shopper.pk}:{uuid.uuid4()}")

    # when: the tab's cart fetches itself again (what it showed rides along)
    refreshed = shopper_client.get(reverse("orders:cart"), {"cart_seen": stale}, headers=HTMX)

    # then: the fragment says so, and its next refresh (which names the order) still does
    body = refreshed.content.decode()
    assert body.lstrip().startswith('<section id="cart-body"')
    assert f"This cart was paid a moment ago: <a href=\"{reverse('orders:detail', args=[paid.pk])}\">" in body
    state = re.search(r'<div id="cart-live-state" hidden>(.*?)</div>', body, re.S).group(1)
    sent_back = dict(re.findall(r'name="(\w+)" value="([^"]+)"', state))
    assert sent_back["paid"] == str(paid.pk)
    again = shopper_client.get(reverse("orders:cart"), sent_back, headers=HTMX).content.decode()
    assert f"order {paid.short_id}</a>" in again
    # an unchanged cart says nothing of the kind, nor does an order id that is not a paid order of theirs
    cart_add(user=shopper, product_id=ProductFactory(title="Fresh", price_points=10).pk)
    fresh = seen_on(shopper_client.get(reverse("orders:cart")))
    plain = shopper_client.get(reverse("orders:cart"), {"cart_seen": fresh, "paid": str(uuid.uuid4())}, headers=HTMX)
    assert "paid a moment ago" not in plain.content.decode()


def test_the_cart_page_listens_for_cart_and_balance_changes(shopper, shopper_client, cart_of_two):
    body = shopper_client.get(reverse("orders:cart")).content.decode()

    wrapper = re.search(r'<div id="cart-live"[^>]*>', body).group(0)
    assert 'hx-trigger="cart-changed from:body, balance-changed from:body"' in wrapper
    assert f'hx-get="{reverse("orders:cart")}"' in wrapper and 'hx-include="#cart-live-state"' in wrapper
    assert re.search(r'<div id="cart-live-state" hidden>\s*<input type="hidden" name="cart_seen"', body)
    assert "You have 2,000 points; 1,270 points after this purchase." in body
    assert re.search(r'<div id="cart-status"[^>]*data-live-region[^>]*hx-preserve[^>]*aria-live="polite"', body)


def test_the_cart_badge_answers_304_when_its_count_is_unchanged(shopper, shopper_client, cart_of_two):
    first = shopper_client.get(reverse("orders:cart_badge"), headers=HTMX)
    etag = first["ETag"]

    same = shopper_client.get(reverse("orders:cart_badge"), headers={**HTMX, "If-None-Match": etag})
    cart_remove(user=shopper, product_id=cart_of_two[0].pk)
    changed = shopper_client.get(reverse("orders:cart_badge"), headers={**HTMX, "If-None-Match": etag})

    assert first.status_code == 200 and 'data-count="2"' in first.content.decode()
    assert same.status_code == 304 and same.content == b""
    assert changed.status_code == 200 and 'data-count="1"' in changed.content.decode()
