"""A payment still pending after a few minutes: the result page (and its polled fragment) says so and offers to
check again. Pending since the shopper last went to pay (the session's ``updated_at``)."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.factories import CheckoutSessionFactory

HTMX = {"HX-Request": "true"}


def awaiting_stripe(user, *, stripe_status: str = "open"):
    return CheckoutSessionFactory(user=user, stripe_session_id=f"cs_test_{uuid.uuid4().hex}",
                                  stripe_status=stripe_status, awaiting_stripe=True)


def result_pages(client, session, *, after: timedelta):
    url = reverse("points:result", args=[session.pk])
    with time_machine.travel(session.updated_at + after, tick=False):
        return client.get(url).content.decode(), client.get(url, headers=HTMX).content.decode()


@pytest.mark.parametrize("after, message", [
    (timedelta(minutes=4, seconds=59), None),
    (timedelta(minutes=5), "Still pending after 5 minutes."),
    (timedelta(hours=2, minutes=3), "Still pending after 123 minutes."),
])
def test_a_payment_pending_too_long_says_so_and_offers_to_check_again(shopper_client, shopper, after, message):
    session = awaiting_stripe(shopper)

    page, fragment = result_pages(shopper_client, session, after=after)

    check_form = f'action="{reverse("points:check", args=[session.pk])}"'
    for html in (page, fragment):  # the polled fragment too: an open page says so by itself
        assert "Payment pending" in html
        assert check_form in html
        if message:
            assert message in html
        else:
            assert "Still pending" not in html


def test_a_bank_debit_on_its_way_is_not_called_stuck(shopper_client, shopper):
    session = awaiting_stripe(shopper, stripe_status="complete")  # processing: can take days

    page, fragment = result_pages(shopper_client, session, after=timedelta(days=2))

    for html in (page, fragment):
        assert "Bank payment processing" in html
        assert "Still pending" not in html
