"""Buying points on the wallet's checkout pages, the shopper's whole way through: choose -> review -> pay on the
(demo) Stripe page -> signed webhook -> result."""

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession, WebhookEvent
from tests.factories import UserFactory
from tests.payments import start_url
from wallet.models import LedgerEntry
from wallet.selectors import points_purchase_credit, wallet_balance
from wallet.services import points_purchase_start


def _start(client, package):
    response = client.post(start_url(), {"package": package.pk})
    assert response.status_code == 302
    return CheckoutSession.objects.get(status="active"), response


def _pay(client, session):
    response = client.post(reverse("points:pay", args=[session.pk]))
    assert response.status_code == 302, response.content
    return response["Location"]


def test_buying_a_package_end_to_end_credits_once_and_the_result_page_shows_the_balance(
        shopper_client, shopper, package, webhooks, django_capture_on_commit_callbacks):
    # given: the shopper picks a package from the points page
    session, response = _start(shopper_client, package)
    assert response["Location"] == reverse("points:review", args=[session.pk])
    review = shopper_client.get(response["Location"])
    assert review.status_code == 200
    assert b"$39.99" in review.content and b"550 points" in review.content

    # when: they pay, land on the demo Stripe page and press Pay
    stripe_url = _pay(shopper_client, session)
    session.refresh_from_db()
    assert stripe_url == f"http://testserver/demo-stripe/{session.stripe_session_id}/"
    page = shopper_client.get(stripe_url)
    assert page.status_code == 200 and b"$39.99" in page.content
    pending = shopper_client.get(reverse("points:result", args=[session.pk]))
    assert b"Payment pending" in pending.content
    with django_capture_on_commit_callbacks(execute=True):
        paid = shopper_client.post(stripe_url, {"action": "pay"})

    # then: Stripe's page sends them back to the result page, and the signed webhook credited the points once
    assert paid.status_code == 302
    assert paid["Location"] == f"http://testserver{reverse('points:result', args=[session.pk])}"
    assert webhooks == [("checkout.session.completed", 200)]
    session.refresh_from_db()
    assert session.status == "completed" and session.completed_at is not None
    assert wallet_balance(user=shopper).current == 550
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.idempotency_key) == (
        "purchase", 550, f"stripe:checkout:{session.stripe_session_id}")
    assert points_purchase_credit(purchase=session.points_purchase) == entry
    assert entry.metadata["checkout_session_id"] == str(session.pk)
    result = shopper_client.get(reverse("points:result", args=[session.pk]))
    assert b"Payment received" in result.content
    assert b'data-balance="550"' in result.content
    assert WebhookEvent.objects.get().status == "processed"


def test_the_status_fragment_polls_until_paid_then_stops_with_286_and_refreshes_the_badge(
        shopper_client, shopper, package, webhooks, django_capture_on_commit_callbacks):
    session, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, session)
    url = reverse("points:result", args=[session.pk])

    waiting = shopper_client.get(url, headers={"HX-Request": "true"})
    assert waiting.status_code == 200
    assert b'hx-trigger="every 2s"' in waiting.content and b"<html" not in waiting.content
    assert "HX-Trigger" not in waiting

    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(stripe_url, {"action": "pay"})
    done = shopper_client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 286
    assert b"every 2s" not in done.content and b'data-balance="550"' in done.content
    assert done["HX-Trigger"] == '{"balance-changed": {}}'


def test_changing_the_package_renews_the_session_and_expires_the_old_stripe_session(
        shopper_client, package, other_package, django_capture_on_commit_callbacks):
    first, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, first)

    # the shopper goes back to step 1 and picks another package
    choose = shopper_client.get(reverse("points:choose"))
    assert b"Your checkout is for <strong>Premium</strong>" in choose.content
    with django_capture_on_commit_callbacks(execute=True):
        second, _ = _start(shopper_client, other_package)

    first.refresh_from_db()
    assert (first.status, first.replaced_by_id) == ("invalidated", second.pk)
    assert second.title == "Basic" and second.amount_cents == 999
    assert CheckoutSession.objects.filter(status="active").count() == 1
    assert first.stripe_status == "expired" and not first.awaiting_stripe
    # the old Stripe page can no longer be paid
    stale = shopper_client.post(stripe_url, {"action": "pay"})
    assert stale.status_code == 409 and b"expired" in stale.content
    # and the old review page leads to the current checkout, not to an error
    old_review = shopper_client.get(reverse("points:review", args=[first.pk]))
    assert old_review["Location"] == reverse("points:review", args=[second.pk])


def test_choosing_the_same_package_again_returns_the_same_session(shopper_client, package):
    first, _ = _start(shopper_client, package)
    shopper_client.post(start_url(), {"package": package.pk})

    assert list(CheckoutSession.objects.values_list("pk", flat=True)) == [first.pk]


def test_cancel_on_the_stripe_page_returns_to_the_review_with_a_note(shopper_client, package):
    session, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, session)

    cancelled = shopper_client.post(stripe_url, {"action": "cancel"}, follow=True)

    assert cancelled.redirect_chain[-1][0].endswith(reverse("points:review", args=[session.pk]) + "?cancelled=1")
    assert b"Payment cancelled" in cancelled.content
    session.refresh_from_db()
    assert session.status == "active"


def test_a_declined_card_is_shown_on_the_review_page_and_the_session_stays_payable(
        shopper_client, shopper, package, webhooks, django_capture_on_commit_callbacks):
    session, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, session)

    with django_capture_on_commit_callbacks(execute=True):
        declined = shopper_client.post(stripe_url, {"action": "decline"}, follow=True)
    assert b"Your card was declined" in declined.content
    assert webhooks == [("payment_intent.payment_failed", 200)]
    review = shopper_client.get(reverse("points:review", args=[session.pk]))
    assert b"did not go through: Your card was declined." in review.content

    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(stripe_url, {"action": "pay"})
    assert wallet_balance(user=shopper).current == 550


def test_bank_debit_is_processing_until_it_clears(shopper_client, shopper, package, webhooks,
                                                  django_capture_on_commit_callbacks):
    session, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, session)

    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(stripe_url, {"action": "pay_later"})
    assert b"Bank payment processing" in shopper_client.get(reverse("points:result", args=[session.pk])).content
    assert wallet_balance(user=shopper).current == 0
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(stripe_url, {"action": "settle"})

    assert [kind for kind, _ in webhooks] == ["checkout.session.completed",
                                              "checkout.session.async_payment_succeeded"]
    assert wallet_balance(user=shopper).current == 550


def test_a_failed_bank_debit_ends_the_session_and_offers_a_fresh_one(shopper_client, shopper, package, webhooks,
                                                                     django_capture_on_commit_callbacks):
    session, _ = _start(shopper_client, package)
    stripe_url = _pay(shopper_client, session)
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(stripe_url, {"action": "pay_later"})
        shopper_client.post(stripe_url, {"action": "bounce"})

    result = shopper_client.get(reverse("points:result", args=[session.pk]))
    assert b"ended without a payment" in result.content and b"Your bank did not complete" in result.content
    again = shopper_client.get(reverse("points:review", args=[session.pk]))
    assert b"Paying starts a fresh one" in again.content
    paid = _pay(shopper_client, session)
    fresh = CheckoutSession.objects.get(status="active")
    assert fresh.pk != session.pk and paid == fresh.stripe_checkout_url
    assert wallet_balance(user=shopper).current == 0


@pytest.mark.parametrize("name", ["points:review", "points:result", "points:changed"])
def test_another_shoppers_session_is_not_found(client, package, name):
    owner = UserFactory()
    client.force_login(owner)
    session, _ = _start(client, package)
    client.force_login(UserFactory())

    assert client.get(reverse(name, args=[session.pk])).status_code == 404
    assert client.post(reverse("points:pay", args=[session.pk])).status_code == 404
    assert client.post(reverse("points:check", args=[session.pk])).status_code == 404


def test_checkout_pages_need_a_login(client, package):
    response = client.get(reverse("points:choose"))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_or_withdrawn_package_is_a_message_not_an_error(shopper_client, package):
    package.is_active = False
    package.save()

    for value in (package.pk, "999999", "not-a-number"):
        response = shopper_client.post(start_url(), {"package": value}, follow=True)
        assert response.status_code == 200
        assert b"no longer on sale" in response.content or b"choose" in response.content.lower()
    assert not CheckoutSession.objects.exists()


def test_step_indicator_links_back_and_forth(shopper_client, shopper, package):
    session = points_purchase_start(user=shopper, package=package).session

    review = shopper_client.get(reverse("points:review", args=[session.pk]))
    choose = shopper_client.get(reverse("points:choose"))

    assert f'href="{reverse("points:choose")}"'.encode() in review.content
    assert f'href="{reverse("points:review", args=[session.pk])}"'.encode() in choose.content
    assert b'class="card package-card selected"' in choose.content
