"""The points result page's "check again": it asks Stripe now instead of waiting for the webhook, and fulfils
through the reconcile path."""

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from stripe_fake import hosted
from tests.payments import paying_session
from wallet.models import LedgerEntry


def test_check_again_fulfils_and_tells_the_balance_badge(shopper_client, shopper, package):
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    url = reverse("points:check", args=[session.pk])

    response = shopper_client.post(url, headers={"HX-Request": "true"})

    assert response.status_code == 286
    assert b"Payment received" in response.content and b'data-balance="550"' in response.content
    assert response["HX-Trigger"] == '{"balance-changed": {}}'


def test_check_again_without_htmx_redirects_to_the_result_page(shopper_client, shopper, package):
    session = paying_session(shopper, package)

    response = shopper_client.post(reverse("points:check", args=[session.pk]), follow=True)

    assert response.redirect_chain == [(reverse("points:result", args=[session.pk]), 302)]
    assert b"Payment pending" in response.content


@pytest.mark.parametrize("htmx", [True, False])
def test_check_again_while_stripe_is_down_says_so_and_changes_nothing(shopper_client, shopper, package,
                                                                      fake_stripe, htmx):
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    fake_stripe.fail("server_error", times=100)
    headers = {"HX-Request": "true"} if htmx else {}

    response = shopper_client.post(reverse("points:check", args=[session.pk]), headers=headers, follow=not htmx)

    assert b"having trouble right now" in response.content and b"Payment pending" in response.content
    assert CheckoutSession.objects.get(pk=session.pk).status == "active"
    assert LedgerEntry.objects.count() == 0
