"""Cancelling on Stripe's payment page: its cancel link (the session's ``cancel_url``) ends the order at once --
the Stripe session expired, the order cancelled, its reserved copies back on sale -- and shows the cart. Repeated,
or reached after paying, it changes nothing and shows the order as it is."""

import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.models import CartItem, Order, OrderStatus
from orders.services.cart import cart_add
from shop.models import Product
from stripe_fake.models import FakeStripeObject
from tests.factories import ProductFactory, UserFactory


@pytest.fixture
def edition(db):
    return ProductFactory(title="Last Light", stock=3, price_cents=1500)


@pytest.fixture
def at_stripe(shopper_client, shopper, edition):
    """The shopper's card checkout of a cart holding ``edition``, on Stripe's page: (order, Stripe page URL)."""
    cart_add(user=shopper, product_id=edition.pk)
    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    return Order.objects.get(), response["Location"]


def stripe_status(order):
    session = CheckoutSession.objects.get(pk=order.checkout_session_id)
    return FakeStripeObject.objects.get(pk=session.stripe_session_id).data["status"]


def leave(client, page_url, capture):
    """Press "Cancel" on the demo Stripe page and follow its redirect back to the shop."""
    with capture(execute=True):
        back = client.post(page_url, {"action": "cancel"})
        return client.get(back["Location"], follow=True)


def test_the_cancel_link_of_stripes_page_comes_back_to_the_shop(at_stripe):
    order, _ = at_stripe
    session = CheckoutSession.objects.get(pk=order.checkout_session_id)

    cancel_url = FakeStripeObject.objects.get(pk=session.stripe_session_id).data["cancel_url"]

    assert cancel_url == f"http://testserver{reverse('orders:payment_left', args=[order.pk])}"


def test_leaving_cancels_the_order_and_releases_its_stock_at_once(shopper_client, shopper, at_stripe, edition,
                                                                  django_capture_on_commit_callbacks):
    order, page_url = at_stripe
    assert Product.objects.get(pk=edition.pk).stock == 2

    response = leave(shopper_client, page_url, django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert response.redirect_chain[-1][0] == reverse("orders:cart")
    content = response.content.decode()
    assert f"You left the card payment, so order {order.short_id} is cancelled and nothing was charged." in content
    assert order.status == OrderStatus.CANCELLED
    assert "went back on sale" in order.status_changes.last().reason
    assert Product.objects.get(pk=edition.pk).stock == 3
    session = CheckoutSession.objects.get(pk=order.checkout_session_id)
    assert (session.status, session.awaiting_stripe) == ("invalidated", False)
    assert "left Stripe's payment page" in session.status_changes.last().note
    assert stripe_status(order) == "expired"
    assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [edition.pk]
    assert "Last Light" in content  # the cart, as the shopper left it


def test_leaving_twice_changes_nothing_more(shopper_client, at_stripe, edition, django_capture_on_commit_callbacks):
    order, page_url = at_stripe
    leave(shopper_client, page_url, django_capture_on_commit_callbacks)
    changes = order.status_changes.count()

    again = shopper_client.get(reverse("orders:payment_left", args=[order.pk]), follow=True)

    assert again.status_code == 200 and again.redirect_chain[-1][0] == reverse("orders:cart")
    assert order.status_changes.count() == changes
    assert Product.objects.get(pk=edition.pk).stock == 3


def test_coming_back_after_paying_shows_the_paid_order(shopper_client, at_stripe, edition, webhooks,
                                                       django_capture_on_commit_callbacks):
    order, page_url = at_stripe
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(page_url, {"action": "pay"})

    response = shopper_client.get(reverse("orders:payment_left", args=[order.pk]), follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    assert f"Order {order.short_id} is paid" in response.content.decode()
    assert Product.objects.get(pk=edition.pk).stock == 2


def test_a_payment_whose_webhook_has_not_arrived_is_applied_not_cancelled(shopper_client, at_stripe, edition,
                                                                          held_webhooks):
    """Paid on Stripe's page a moment ago (its webhook still on the way), then the old cancel link: Stripe says the
    session is complete, so the order completes here and now instead of being cancelled."""
    order, page_url = at_stripe
    shopper_client.post(page_url, {"action": "pay"})

    response = shopper_client.get(reverse("orders:payment_left", args=[order.pk]), follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    assert Product.objects.get(pk=edition.pk).stock == 2
    assert not order.status_changes.filter(to_status=OrderStatus.CANCELLED).exists()


def test_a_bank_debit_under_way_is_not_cancelled(shopper_client, at_stripe, held_webhooks):
    from stripe_fake import hosted

    order, _ = at_stripe
    session = CheckoutSession.objects.get(pk=order.checkout_session_id)
    hosted.pay_later(session.stripe_session_id)
    CheckoutSession.objects.filter(pk=session.pk).update(stripe_status="complete")  # its webhook arrived

    response = shopper_client.get(reverse("orders:payment_left", args=[order.pk]), follow=True)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert "still being paid" in response.content.decode()


def test_stripe_unreachable_still_cancels_and_releases(shopper_client, at_stripe, edition, fake_stripe):
    order, _ = at_stripe
    fake_stripe.fail("server_error", method="post", path="/v1/checkout/sessions/", times=20)

    response = shopper_client.get(reverse("orders:payment_left", args=[order.pk]), follow=True)

    order.refresh_from_db()
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("orders:cart")
    assert order.status == OrderStatus.CANCELLED and Product.objects.get(pk=edition.pk).stock == 3
    session = CheckoutSession.objects.get(pk=order.checkout_session_id)
    assert session.status == "invalidated" and session.awaiting_stripe  # reconcile expires it at Stripe later


def test_buy_now_left_on_stripes_page_lands_on_the_cart_as_it_was(shopper_client, shopper, edition,
                                                                  django_capture_on_commit_callbacks):
    other = ProductFactory()
    cart_add(user=shopper, product_id=other.pk)
    response = shopper_client.post(reverse("orders:buy_now"), {"product_id": edition.pk, "method": "stripe",
                                                               "checkout_token": str(uuid.uuid4())})

    back = leave(shopper_client, response["Location"], django_capture_on_commit_callbacks)

    assert back.redirect_chain[-1][0] == reverse("orders:cart")
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=edition.pk).stock == 3
    assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [other.pk]


def test_another_shoppers_order_is_not_found(client, at_stripe, edition):
    order, _ = at_stripe
    client.force_login(UserFactory())

    assert client.get(reverse("orders:payment_left", args=[order.pk])).status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert Product.objects.get(pk=edition.pk).stock == 2


def test_signed_out_it_asks_to_log_in_first(client, at_stripe):
    order, _ = at_stripe
    client.logout()

    response = client.get(reverse("orders:payment_left", args=[order.pk]))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
