"""Buying points through checkout as the shop's pages do, for tests that start at the service layer."""

from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.services import checkout_session_pay

SUCCESS, CANCEL = "http://shop.test/checkout/x/result/", "http://shop.test/checkout/x/?cancelled=1"


def start_url() -> str:
    """Where the points pages POST the package the shopper chose."""
    return reverse("points:start")


def pay_points_checkout(*, session_id, user, base_url: str = "http://testserver") -> str:
    """Stripe's payment page for a points package checkout, with the points pages' return URLs."""
    return checkout_session_pay(
        session_id=session_id, user=user,
        success_url=base_url + reverse("points:result", args=[session_id]),
        cancel_url=base_url + reverse("points:review", args=[session_id]) + "?cancelled=1")


def stripe_session_create(session, *, now=None):
    """The Stripe session for ``session`` straight from the gateway (no page, no checkout service), with return
    URLs on a host of their own."""
    return gateway.checkout_session_create(session=session, success_url=SUCCESS, cancel_url=CANCEL,
                                           now=now or timezone.now())
