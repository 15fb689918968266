"""One checkout is open per shopper. Paying a cart by card while a points-package checkout is open says so and
offers both ways on (continue the package, or replace it with this order); the package pages do the same for an
open card payment. Nothing is ended until the shopper has chosen."""

import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from checkout.services import ReplaceNotConfirmed
from orders.models import Order
from orders.services.card import order_checkout_start
from orders.services.cart import cart_add
from tests.factories import ProductFactory
from wallet.services import points_purchase_start

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cart(shopper):
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_cents=499, stock=5).pk)
    return shopper


def pay_card(client, *, htmx=True, **extra):
    return client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4()), **extra},
                       headers=HTMX if htmx else {})


@pytest.mark.parametrize("htmx", [True, False])
def test_a_card_payment_asks_before_ending_an_open_package_checkout(shopper_client, cart, session, htmx):
    # given: a points-package checkout (Premium) is open

    # when: the shopper pays the cart by card
    response = pay_card(shopper_client, htmx=htmx)

    # then: nothing is started or ended; the cart says which checkout is open, with both ways on
    body = response.content.decode()
    assert response.status_code == 200
    assert "You have a checkout open for Premium" in body
    assert f'href="{reverse("points:review", args=[session.pk])}">Continue buying Premium</a>' in body
    assert f'name="replacing" value="{session.pk}"' in body and "Replace it with this order" in body
    assert body.count("You have a checkout open for Premium") == 1
    session.refresh_from_db()
    assert session.status == "active"
    assert not Order.objects.exists() and not CheckoutSession.objects.filter(kind="cart").exists()


def test_replacing_the_package_checkout_starts_the_card_payment(shopper_client, cart, session):
    response = pay_card(shopper_client, replacing=str(session.pk))

    session.refresh_from_db()
    card = CheckoutSession.objects.get(kind="cart")
    assert session.status == "invalidated" and session.replaced_by_id == card.pk
    assert card.status == "active" and response["HX-Redirect"] == card.stripe_checkout_url
    assert Order.objects.get().checkout_session == card


def test_a_confirmation_for_another_checkout_asks_again(shopper, shopper_client, cart, session, other_package):
    # given: the shopper chose to replace Premium, but another tab has meanwhile switched to Basic
    newer = points_purchase_start(user=shopper, package=other_package).session

    response = pay_card(shopper_client, replacing=str(session.pk))

    assert "You have a checkout open for Basic" in response.content.decode()
    newer.refresh_from_db()
    assert newer.status == "active" and not Order.objects.exists()


def test_an_earlier_card_checkout_is_still_replaced_without_asking(shopper, shopper_client, cart):
    first = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}")

    pay_card(shopper_client)

    first.refresh_from_db()
    assert first.status == "invalidated" and CheckoutSession.objects.filter(kind="cart", status="active").count() == 1


def test_the_service_refuses_without_confirmation(shopper, cart, session):
    from orders.errors import OtherCheckoutOpen

    with pytest.raises(OtherCheckoutOpen) as refused:
        order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}")

    assert refused.value.open.session == session
    assert refused.value.open.url == reverse("points:review", args=[session.pk])
    assert isinstance(refused.value.__cause__, ReplaceNotConfirmed)


# --- the reverse: a package while a card payment is open ------------------------------------------------------

@pytest.fixture
def card_checkout(shopper, cart):
    return order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}")


def test_the_package_page_names_an_open_card_payment(shopper_client, card_checkout, package):
    order = Order.objects.get()

    body = shopper_client.get(reverse("points:choose"), {"package": package.pk}).content.decode()

    assert f"You have a card payment open for Order {order.short_id}" in body
    assert f'href="{reverse("orders:detail", args=[order.pk])}">Continue paying for Order {order.short_id}</a>' in body
    assert f'name="replacing" value="{card_checkout.pk}"' in body and "Buy Premium instead" in body


def test_a_package_bought_from_an_older_page_asks_first(shopper_client, card_checkout, package):
    # when: "Buy Premium" on the storefront's packages page, which knows nothing of the card payment
    response = shopper_client.post(reverse("points:start"), {"package": package.pk})

    # then: back to the package page, which names the open payment; nothing ended
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('points:choose')}?package={package.pk}"
    card_checkout.refresh_from_db()
    assert card_checkout.status == "active" and Order.objects.get().status == "pending"
    assert not CheckoutSession.objects.filter(kind="points_package").exists()


def test_choosing_the_package_instead_ends_the_card_payment(shopper_client, card_checkout, package):
    response = shopper_client.post(reverse("points:start"), {"package": package.pk,
                                                             "replacing": str(card_checkout.pk)})

    card_checkout.refresh_from_db()
    premium = CheckoutSession.objects.get(kind="points_package")
    assert response["Location"] == reverse("points:review", args=[premium.pk])
    assert card_checkout.status == "invalidated" and Order.objects.get().status == "cancelled"


def test_paying_on_an_ended_package_review_asks_before_ending_a_card_payment(shopper, shopper_client, cart,
                                                                            session):
    # given: the shopper replaced the Premium checkout with a card payment for the cart, and has the old Premium
    # review page still open in another tab
    card = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}",
                                replacing=session.pk)
    order = Order.objects.get()

    # when: they press Pay there (paying an ended checkout starts a fresh copy of it)
    response = shopper_client.post(reverse("points:pay", args=[session.pk]))

    # then: nothing ended or started; the review page names the card payment with both ways on
    assert response.status_code == 302 and response["Location"] == reverse("points:review", args=[session.pk])
    card.refresh_from_db()
    assert card.status == "active" and Order.objects.get().status == "pending"
    assert CheckoutSession.objects.filter(kind="points_package", status="active").count() == 0
    body = shopper_client.get(response["Location"]).content.decode()
    assert f"You have a card payment open for Order {order.short_id}" in body
    assert f'href="{reverse("orders:detail", args=[order.pk])}">Continue paying for Order {order.short_id}</a>' in body
    assert f'name="replacing" value="{card.pk}"' in body and "for Premium instead" in body


def test_paying_for_the_package_instead_ends_the_card_payment(shopper, shopper_client, cart, session):
    card = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}",
                                replacing=session.pk)

    response = shopper_client.post(reverse("points:pay", args=[session.pk]), {"replacing": str(card.pk)})

    card.refresh_from_db()
    fresh = CheckoutSession.objects.get(kind="points_package", status="active")
    assert card.status == "invalidated" and Order.objects.get().status == "cancelled"
    assert fresh.title == "Premium" and response["Location"] == fresh.stripe_checkout_url



def test_the_old_package_pages_do_not_lead_into_the_card_payment_that_replaced_it(shopper, shopper_client, cart,
                                                                                  session):
    card = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}",
                                replacing=session.pk)

    # the old Premium review is its own page (ended, renewable), naming the open card payment...
    review = shopper_client.get(reverse("points:review", args=[session.pk]))
    assert review.status_code == 200 and "This checkout ended before it was paid" in review.content.decode()
    assert f'name="replacing" value="{card.pk}"' in review.content.decode()

    # ...and once the card payment is paid, still the package's page, not a way into the card order's
    CheckoutSession.objects.filter(pk=card.pk).update(status="completed", completed_at=card.created_at)
    review = shopper_client.get(reverse("points:review", args=[session.pk]))
    assert review.status_code == 200 and "You have a card payment open" not in review.content.decode()
