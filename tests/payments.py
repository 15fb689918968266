"""Buying points as the points checkout pages do: their URLs and Pay button, and, for tests that start at the
service layer, the same calls into checkout."""

from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.services import checkout_session_pay
from wallet.services import points_purchase_start

SUCCESS, CANCEL = "http://shop.test/checkout/x/result/", "http://shop.test/checkout/x/?cancelled=1"


def start_url() -> str:
    """Where the points pages POST the package the shopper chose."""
    return reverse("points:start")


def press_pay(client, session):
    """The Pay button of the points review page: a POST to the pay view, whose response is returned."""
    return client.post(reverse("points:pay", args=[session.pk]))


def pay_points_checkout(*, session_id, user, base_url: str = "http://testserver") -> str:
    """Stripe's payment page for a points package checkout, with the points pages' return URLs."""
    return checkout_session_pay(
        session_id=session_id, user=user,
        success_url=base_url + reverse("points:result", args=[session_id]),
        cancel_url=base_url + reverse("points:review", args=[session_id]) + "?cancelled=1")


def paying_session(user, package):
    """``user``'s checkout session for ``package``, sent to Stripe's payment page and not paid yet (as if the
    shopper had pressed Pay on the review page)."""
    session = points_purchase_start(user=user, package=package).session
    pay_points_checkout(session_id=session.pk, user=user, base_url="http://testserver")
    session.refresh_from_db()
    return session


def stripe_session_create(session, *, now=None):
    """The Stripe session for ``session`` straight from the gateway (no page, no checkout service), with return
    URLs on a host of their own."""
    return gateway.checkout_session_create(session=session, success_url=SUCCESS, cancel_url=CANCEL,
                                           now=now or timezone.now())
