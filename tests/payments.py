"""Paying through checkout as the shop's pages do, for tests that start at the service layer."""

from django.urls import reverse

from checkout.services import checkout_session_pay


def pay_points_checkout(*, session_id, user, base_url: str = "http://testserver") -> str:
    """Stripe's payment page for a points package checkout, with the points pages' return URLs."""
    return checkout_session_pay(
        session_id=session_id, user=user,
        success_url=base_url + reverse("points:result", args=[session_id]),
        cancel_url=base_url + reverse("points:review", args=[session_id]) + "?cancelled=1")
