"""The points result page's "check again": the view queues one check with Stripe for a worker and answers at once
(the page shows the check under way and polls); the worker's check fulfils through the reconcile path."""

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from checkout.tasks import check_with_stripe
from stripe_fake import hosted
from tests.payments import paying_session
from wallet.models import LedgerEntry

HTMX = {"HX-Request": "true"}


def test_check_again_queues_a_check_and_the_page_shows_its_answer(
        shopper_client, shopper, package, fake_stripe, django_capture_on_commit_callbacks):
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    fake_stripe.reset()  # count only what the check asks

    with django_capture_on_commit_callbacks() as queued:
        response = shopper_client.post(reverse("points:check", args=[session.pk]), headers=HTMX)

    # the web request asked Stripe nothing: it queued the check and shows it under way, still polling
    assert response.status_code == 200
    assert b"Asking Stripe about your payment" in response.content and b'hx-trigger="every 2s"' in response.content
    assert len(queued) == 1 and list(fake_stripe.requests_seen) == []
    assert LedgerEntry.objects.count() == 0

    # when the worker runs the check, the next poll shows the payment and tells the balance badge
    assert check_with_stripe(str(session.pk)) == "credited"
    assert [method for method, _ in fake_stripe.requests_seen] == ["get"]
    polled = shopper_client.get(reverse("points:result", args=[session.pk]), headers=HTMX)
    assert polled.status_code == 286
    assert b"Payment received" in polled.content and b'data-balance="550"' in polled.content
    assert polled["HX-Trigger"] == '{"balance-changed": {}}'


def test_check_again_without_htmx_redirects_to_the_result_page(shopper_client, shopper, package):
    session = paying_session(shopper, package)

    response = shopper_client.post(reverse("points:check", args=[session.pk]), follow=True)

    assert response.redirect_chain == [(reverse("points:result", args=[session.pk]), 302)]
    assert b"Payment pending" in response.content and b"Asking Stripe about your payment" in response.content


def test_a_check_queued_or_just_made_is_not_queued_again(shopper_client, shopper, package,
                                                         django_capture_on_commit_callbacks):
    session = paying_session(shopper, package)
    url = reverse("points:check", args=[session.pk])

    with django_capture_on_commit_callbacks() as queued:
        for _ in range(5):
            shopper_client.post(url, headers=HTMX)
    assert len(queued) == 1

    check_with_stripe(str(session.pk))
    assert check_with_stripe(str(session.pk)) == "nothing queued"  # the task delivered twice asks nothing more
    with django_capture_on_commit_callbacks() as queued_after:
        response = shopper_client.post(url, headers=HTMX)
    assert queued_after == []  # Stripe answered about it a moment ago: that answer is on the page
    assert b"Payment pending" in response.content and b"Asking Stripe about your payment" not in response.content


@pytest.mark.parametrize("htmx", [True, False])
def test_check_again_while_stripe_is_down_says_so_and_changes_nothing(shopper_client, shopper, package,
                                                                      fake_stripe, htmx):
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    fake_stripe.fail("server_error", times=100)
    shopper_client.post(reverse("points:check", args=[session.pk]), headers=HTMX if htmx else {})

    assert check_with_stripe(str(session.pk)) == "stripe error"

    response = shopper_client.get(reverse("points:result", args=[session.pk]), headers=HTMX if htmx else {})
    assert b"having trouble right now" in response.content and b"Payment pending" in response.content
    assert CheckoutSession.objects.get(pk=session.pk).status == "active"
    assert LedgerEntry.objects.count() == 0
