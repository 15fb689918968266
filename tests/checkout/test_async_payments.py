"""No async payment is ever dropped: a session a bank debit may still pay is never purged, reconcile keeps asking
Stripe until the payment is final, a debit that settles days later is credited, fulfilled or refunded, and a payment
for a session deleted before any of this was true is recorded for staff and refunded automatically."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from checkout.models import PURGEABLE, CheckoutSession, Refund, WebhookEvent
from checkout.services import checkout_sessions_purge_stale, cleanup
from checkout.services.orphans import PAID_SESSION_NOT_FOUND, RESTORED
from checkout.tasks import checkout_sessions_mark_expired, checkout_sessions_purge, checkout_sessions_reconcile
from checkout.tasks import submit_refund
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from tests.factories import CheckoutSessionFactory, UserFactory
from tests.payments import paying_session, stripe_session_create
from tests.stripe_events import post_event, stripe_event
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start

DAY = timedelta(days=1)


def _event_of_fake(event_type: str) -> dict:
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("-created_at")
    return public(rows.first().data)


def _debit_under_way(client, shopper, package) -> CheckoutSession:
    """The shopper paid on Stripe's page with a bank debit: Stripe's session is complete, its payment unpaid."""
    session = paying_session(shopper, package)
    hosted.pay_later(session.stripe_session_id)
    assert post_event(client, _event_of_fake("checkout.session.completed")).status_code == 200
    session.refresh_from_db()
    assert (session.stripe_status, session.stripe_payment_status, session.awaiting_stripe) == (
        "complete", "unpaid", True)
    return session


# --- the purge ---------------------------------------------------------------------------------------------------

def test_the_purge_keeps_every_session_a_payment_may_still_arrive_for(package):
    old = timezone.now() - 8 * DAY

    def idle(status, **stripe):
        return CheckoutSessionFactory(package=package, status=status, created_at=old - DAY, updated_at=old, **stripe)

    kept = [
        idle("active", stripe_session_id="cs_open", stripe_status="open", awaiting_stripe=True),
        idle("expired", stripe_session_id="cs_debit", stripe_status="complete", stripe_payment_status="unpaid",
             awaiting_stripe=True),
        # Stripe's session expired but ours could not be told yet: reconcile settles it first
        idle("invalidated", stripe_session_id="cs_expiring", stripe_status="open", awaiting_stripe=True),
        # a bank debit that failed: kept as the record of a payment attempt
        idle("invalidated", stripe_session_id="cs_bounced", stripe_status="complete",
             stripe_payment_status="unpaid", awaiting_stripe=False),
    ]
    purged = [
        idle("expired"),
        idle("invalidated", stripe_session_id="cs_gone", stripe_status="expired", awaiting_stripe=False),
        idle("active"),
    ]
    purgeable = set(CheckoutSession.objects.filter(PURGEABLE, updated_at__lt=timezone.now() - 7 * DAY)
                    .values_list("pk", flat=True))

    assert checkout_sessions_purge() == 3
    assert checkout_sessions_purge() == 0

    remaining = set(CheckoutSession.objects.values_list("pk", flat=True))
    assert remaining == {session.pk for session in kept}
    assert purgeable == {session.pk for session in purged}  # the model's condition is the purge's


def test_the_purge_finds_its_sessions_through_its_partial_index(db):
    # The purge's condition must imply the index's, or PostgreSQL cannot use the index at all.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM checkout_checkoutsession WHERE {cleanup._PURGEABLE_SQL} "
                       f"AND updated_at < now() ORDER BY updated_at LIMIT 1000")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "checkout_purgeable_age_idx" in plan


# --- reconcile -----------------------------------------------------------------------------------------------------

def test_reconcile_keeps_asking_about_a_debit_until_stripe_says_it_is_paid(client, shopper, package):
    session = _debit_under_way(client, shopper, package)

    for days in (1, 4, 9):  # the session expired long ago; the debit is still under way
        with time_machine.travel(timezone.now() + days * DAY, tick=False):
            checkout_sessions_mark_expired()
            checkout_sessions_purge()
            assert checkout_sessions_reconcile() == {"pending": 1}
    session.refresh_from_db()
    assert (session.status, session.awaiting_stripe) == ("expired", True)

    with time_machine.travel(timezone.now() + 10 * DAY, tick=False):
        hosted.settle(session.stripe_session_id, succeeded=True)  # its webhook is lost
        assert checkout_sessions_reconcile() == {"credited": 1}
        assert checkout_sessions_reconcile() == {}  # final: nothing left to ask
    assert wallet_balance(user=shopper).current == 550


def test_an_expired_claim_after_a_completed_debit_does_not_stop_reconcile(client, shopper, package):
    session = _debit_under_way(client, shopper, package)
    stripe_object = _event_of_fake("checkout.session.completed")["data"]["object"]

    post_event(client, stripe_event("checkout.session.expired", {**stripe_object, "status": "expired"}))

    session.refresh_from_db()
    assert (session.status, session.stripe_status, session.awaiting_stripe) == ("active", "complete", True)


def test_a_stripe_session_we_only_learn_of_from_its_webhook_is_reconciled_too(client, shopper, package):
    # given: Stripe made the session, but the answer never reached us (the process died before recording it)
    session = points_purchase_start(user=shopper, package=package).session
    stripe_session = stripe_session_create(session)
    hosted.pay_later(stripe_session.id)

    post_event(client, _event_of_fake("checkout.session.completed"))

    session.refresh_from_db()
    assert (session.stripe_session_id, session.awaiting_stripe) == (stripe_session.id, True)
    hosted.settle(stripe_session.id, succeeded=True)  # its webhook is lost
    assert checkout_sessions_reconcile() == {"credited": 1}
    assert wallet_balance(user=shopper).current == 550


# --- late successes ------------------------------------------------------------------------------------------------

def test_a_debit_settling_after_eight_days_credits_the_package(client, shopper, package):
    session = _debit_under_way(client, shopper, package)

    with time_machine.travel(timezone.now() + 8 * DAY, tick=False):
        checkout_sessions_mark_expired()
        assert checkout_sessions_purge() == 0
        hosted.settle(session.stripe_session_id, succeeded=True)
        response = post_event(client, _event_of_fake("checkout.session.async_payment_succeeded"))

    assert response.json() == {"received": True, "status": "processed"}
    session.refresh_from_db()
    assert (session.status, session.awaiting_stripe) == ("completed", False)
    assert wallet_balance(user=shopper).current == 550
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


# --- a payment for a session deleted before the purge spared them ---------------------------------------------------

def _deleted_while_its_debit_was_under_way(client, shopper, package):
    """What the purge did before: the completed-but-unpaid session deleted after a week, its debit settling later."""
    session = _debit_under_way(client, shopper, package)
    CheckoutSession.objects.filter(pk=session.pk).delete()
    hosted.settle(session.stripe_session_id, succeeded=True)
    return session, _event_of_fake("checkout.session.async_payment_succeeded")


def test_a_payment_for_a_deleted_session_is_recorded_for_staff_and_refunded(
        client, shopper, package, caplog, held_webhooks, django_capture_on_commit_callbacks):
    deleted, succeeded = _deleted_while_its_debit_was_under_way(client, shopper, package)
    caplog.set_level(logging.ERROR, logger="checkout")

    with django_capture_on_commit_callbacks() as queued:
        response = post_event(client, succeeded)

    # then: not ignored -- the record says so, and the error log
    assert response.status_code == 200 and response.json()["status"] == "attention"
    record = WebhookEvent.objects.get(event_id=succeeded["id"])
    assert record.status == WebhookEvent.Status.ATTENTION
    assert record.error.startswith(PAID_SESSION_NOT_FOUND) and "refunded in full automatically" in record.error
    assert any(PAID_SESSION_NOT_FOUND in line.getMessage() and line.levelno == logging.ERROR
               for line in caplog.records)
    # and: the session is back as a record of the payment, with a full refund, sent after commit; nothing credited
    restored = CheckoutSession.objects.get(pk=deleted.pk)
    assert (restored.kind, restored.status, restored.stripe_session_id, restored.amount_cents) == (
        RESTORED, "completed", deleted.stripe_session_id, 3999)
    [refund] = Refund.objects.filter(session=restored)
    assert (refund.status, refund.amount_cents, refund.requested_by) == ("requested", 3999, None)
    assert len(queued) == 1
    assert wallet_balance(user=shopper).current == 0

    # when: the task sends it, and Stripe confirms it
    with django_capture_on_commit_callbacks(execute=True):
        submit_refund(str(refund.pk))
    refunded = held_webhooks.take("charge.refunded")
    assert post_event(client, refunded).json()["status"] == "processed"
    refund.refresh_from_db()
    assert refund.status == "pending"  # Stripe's refunded amount counts pending refunds too
    assert post_event(client, held_webhooks.take("refund.updated")).json()["status"] == "processed"
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert FakeStripeObject.objects.get(pk=deleted.stripe_session_id).data["payment_status"] == "paid"
    assert [row.data["amount"] for row in FakeStripeObject.objects.filter(kind="refund")] == [3999]

    # and: replays, and Stripe's other events about the same payment, change nothing more
    assert post_event(client, succeeded).json()["status"] == "attention"
    paid_object = succeeded["data"]["object"]
    assert post_event(client, stripe_event("checkout.session.completed", paid_object)).json()["status"] == "processed"
    assert Refund.objects.count() == 1 and CheckoutSession.objects.count() == 1


def test_a_payment_for_a_deleted_session_that_cannot_be_refunded_safely_is_left_to_staff(
        client, shopper, package, caplog, django_capture_on_commit_callbacks):
    deleted, succeeded = _deleted_while_its_debit_was_under_way(client, shopper, package)
    succeeded["data"]["object"]["metadata"]["user_id"] = str(UserFactory().pk + 1000)  # an account since deleted
    caplog.set_level(logging.ERROR, logger="checkout")

    with django_capture_on_commit_callbacks() as queued:
        response = post_event(client, succeeded)

    assert response.json()["status"] == "attention"
    record = WebhookEvent.objects.get(event_id=succeeded["id"])
    assert record.error.startswith(PAID_SESSION_NOT_FOUND) and "NOT refunded automatically" in record.error
    assert "no longer exists" in record.error
    assert "NOT refunded automatically" in caplog.text
    assert not CheckoutSession.objects.exists() and not Refund.objects.exists() and queued == []


@pytest.mark.parametrize("metadata", [{}, {"checkout_session_id": "not-ours", "kind": "points_package",
                                           "user_id": "1"}, {"checkout_session_id": "a" * 32, "kind": "gift_card"}])
def test_paid_sessions_that_are_not_the_shops_are_still_ignored(client, db, metadata):
    paid = {"id": "cs_test_elsewhere", "object": "checkout.session", "status": "complete", "payment_status": "paid",
            "payment_intent": "pi_elsewhere", "amount_total": 500, "currency": "usd", "metadata": metadata}

    response = post_event(client, stripe_event("checkout.session.completed", paid))

    assert response.json()["status"] == "ignored"
    assert not CheckoutSession.objects.exists()


def test_the_dashboard_and_admin_show_payments_needing_attention(
        client, staff_client, shopper, package, django_capture_on_commit_callbacks):
    _deleted, succeeded = _deleted_while_its_debit_was_under_way(client, shopper, package)
    post_event(client, succeeded)

    dashboard = staff_client.get("/admin/dashboard/").content.decode()
    changelist = staff_client.get("/admin/checkout/webhookevent/?status__exact=attention").content.decode()

    assert 'id="webhooks-needing-attention">1<' in dashboard
    assert 'id="refunds-by-the-shop">1<' in dashboard
    assert succeeded["id"] in changelist and "Needs attention" in changelist


def test_checkout_sessions_purge_stale_counts_nothing_it_keeps(shopper, package):
    # a session waiting on Stripe for weeks is not counted, however often the purge runs
    session = paying_session(shopper, package)
    later = timezone.now() + 30 * DAY
    assert checkout_sessions_purge_stale(now=later) == 0
    assert CheckoutSession.objects.filter(pk=session.pk).exists()


def test_a_paid_stripe_session_claiming_a_session_that_has_another_is_left_to_staff(client, shopper, package):
    # Stripe's sessions are created with our session's id as idempotency key, so a second one for the same session
    # should never exist; if one is paid all the same, it may have paid for something: staff decide.
    session = paying_session(shopper, package)
    stranger = {"id": "cs_test_second", "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "payment_intent": "pi_second", "amount_total": 3999, "currency": "usd",
                "metadata": {"checkout_session_id": str(session.pk), "kind": "points_package",
                             "user_id": str(shopper.pk)}}

    response = post_event(client, stripe_event("checkout.session.completed", stranger))

    assert response.json()["status"] == "attention"
    record = WebhookEvent.objects.get()
    assert "NOT refunded automatically" in record.error and session.stripe_session_id in record.error
    session.refresh_from_db()
    assert session.status == "active" and not Refund.objects.exists()
    assert wallet_balance(user=shopper).current == 0
