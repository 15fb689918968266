"""Refunding a points package purchase: its points taken back and a refund recorded in one transaction, the refund
sent to Stripe after commit; a refusal before anything moves, a Stripe refusal gives the points back."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.models import CheckoutSession, Refund, WebhookEvent
from checkout.services import RefundRefused, checkout_session_refund
from checkout.services.refunds import refunds_submit_unsent
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from tests.factories import CheckoutSessionFactory, UserFactory
from tests.payments import pay_points_checkout
from tests.stripe_events import post_event
from wallet.models import LedgerEntry
from wallet.selectors import points_purchase_credit, wallet_balance
from wallet.services import points_purchase_start, wallet_spend

PURCHASES = "admin:wallet_pointspurchase_changelist"


def _sent(event_type: str) -> list[dict]:
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("created_at")
    return [public(row.data) for row in rows]


@pytest.fixture
def purchase(client, shopper, package):
    """550 points bought for $39.99 and credited by the signed checkout.session.completed."""
    session = points_purchase_start(user=shopper, package=package).session
    pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://testserver")
    session.refresh_from_db()
    hosted.pay(session.stripe_session_id)
    [completed] = _sent("checkout.session.completed")
    assert post_event(client, completed).json()["status"] == "processed"
    session.refresh_from_db()
    assert session.status == "completed" and wallet_balance(user=shopper).current == 550
    return session


def _refund_url(session) -> str:
    return reverse("admin:wallet_pointspurchase_refund", args=[session.pk])


def _stripe_refunds() -> list[dict]:
    return [row.data for row in FakeStripeObject.objects.filter(kind="refund")]


def _reversals():
    return LedgerEntry.objects.filter(kind="reversal")


def _unchanged(session, shopper):
    assert not Refund.objects.filter(session=session).exists()
    assert wallet_balance(user=shopper).current == 550 - LedgerEntry.objects.filter(kind="spend").count() * 100
    assert not _reversals().exists() and not _stripe_refunds() and not _sent("charge.refunded")


def test_a_refund_takes_the_points_back_and_refunds_the_payment_then_stripe_confirms(
        purchase, shopper, staff, webhooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        refunded = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

        # then: the refund is recorded with who and why, and Stripe accepted it under the refund's own key
        assert (refunded.session, refunded.amount_cents, refunded.requested_by, refunded.reason) == (
            purchase, 3999, staff, "Bought by mistake")
        assert (refunded.status, refunded.idempotency_key, refunded.attempts) == (
            "pending", f"checkout:{purchase.pk}:refund", 1)
        assert list(refunded.status_changes.values_list("to_status", flat=True)) == ["requested", "pending"]
        [refund] = _stripe_refunds()
        assert (refund["id"], refund["amount"], refund["payment_intent"]) == (
            refunded.stripe_refund_id, 3999, purchase.stripe_payment_intent_id)
        [reversal] = _reversals()
        assert (reversal.amount, reversal.reverses_id, reversal.idempotency_key) == (
            -550, points_purchase_credit(purchase=purchase.points_purchase).pk, f"checkout:{purchase.pk}:refund")
        assert "Bought by mistake" in reversal.description
        assert wallet_balance(user=shopper).current == 0

    # and: Stripe's signed events only confirm it once it settled
    assert webhooks == [("refund.created", 200), ("charge.refunded", 200), ("refund.updated", 200),
                        ("charge.refund.updated", 200)]
    purchase.refresh_from_db()
    assert purchase.stripe_refunded_cents == 3999 and Refund.objects.get().status == "succeeded"
    assert WebhookEvent.objects.get(type="charge.refunded").error == "refund already recorded"
    assert WebhookEvent.objects.get(type="refund.updated").error == "refund succeeded: package refund confirmed"
    assert wallet_balance(user=shopper).current == 0 and _reversals().count() == 1


def test_charge_refunded_replayed_changes_nothing(purchase, shopper, staff, client):
    checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")
    [event] = _sent("charge.refunded")
    assert post_event(client, event).json()["status"] == "processed"
    purchase.refresh_from_db()
    confirmed = (purchase.stripe_refunded_cents, purchase.updated_at)

    replayed = [post_event(client, event) for _ in range(3)]
    again = post_event(client, {**event, "id": event["id"] + "_resent"})  # the same news in another event

    assert {response.status_code for response in replayed} == {200}
    assert again.json()["status"] == "processed"
    assert WebhookEvent.objects.get(event_id=event["id"] + "_resent").error == "refund already recorded"
    purchase.refresh_from_db()
    assert (purchase.stripe_refunded_cents, purchase.updated_at) == confirmed
    assert Refund.objects.get().status_changes.count() == 2
    assert wallet_balance(user=shopper).current == 0 and _reversals().count() == 1


def test_refused_when_the_shopper_already_spent_the_points_and_nothing_changes(purchase, shopper, staff):
    wallet_spend(user=shopper, points=100, idempotency_key="spend:1", description="A picture")

    with pytest.raises(RefundRefused) as refusal:
        checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

    assert str(refusal.value) == (
        f"{shopper.email} has already spent points from this purchase: they have 450 points now, and the package "
        f"gave 550. Nothing was refunded and no points were taken back.")
    _unchanged(purchase, shopper)


@pytest.mark.parametrize("fault", ["server_error", "connection"])
def test_stripe_unreachable_keeps_the_refund_and_beat_sends_it_again(purchase, shopper, staff, fake_stripe, fault):
    fake_stripe.fail(fault, path="/v1/refunds", times=10)

    refund = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

    # then: recorded with its points taken back, not yet at Stripe, and why
    assert (refund.status, refund.attempts) == ("requested", 1) and refund.failure_message
    assert wallet_balance(user=shopper).current == 0 and not _stripe_refunds()

    # when: Stripe is back and beat's job runs a while later
    fake_stripe.reset()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert refunds_submit_unsent() == 1

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("pending", 2)
    assert [stripe_refund["id"] for stripe_refund in _stripe_refunds()] == [refund.stripe_refund_id]
    assert _reversals().count() == 1 and wallet_balance(user=shopper).current == 0


def test_stripe_refusing_fails_the_refund_and_gives_the_points_back(purchase, shopper, staff):
    # given: the payment was refunded in Stripe's dashboard, outside the shop
    gateway.refund_create(payment_intent_id=purchase.stripe_payment_intent_id, idempotency_key="dashboard")

    with pytest.raises(RefundRefused, match="Stripe refused the refund .*has already been refunded"):
        checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

    refund = Refund.objects.get(session=purchase)
    assert refund.status == "failed" and "already been refunded" in refund.failure_message
    # the ledger keeps both moves: taken back for the refund, given back when Stripe refused it
    [reversal] = _reversals()
    given_back = LedgerEntry.objects.get(idempotency_key=f"{refund.idempotency_key}:failed")
    assert (reversal.amount, given_back.amount, given_back.kind, given_back.created_by) == (
        -550, 550, "adjustment", staff)
    assert wallet_balance(user=shopper).current == 550


def test_a_lost_answer_is_retried_with_the_same_key_and_refunds_once(purchase, shopper, staff, fake_stripe):
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds")

    refunded = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

    assert [refund["id"] for refund in _stripe_refunds()] == [refunded.stripe_refund_id]
    assert [path for _, path in fake_stripe.requests_seen].count("/v1/refunds") == 2
    assert wallet_balance(user=shopper).current == 0


def test_a_purchase_is_refunded_once(purchase, shopper, staff):
    checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")

    with pytest.raises(RefundRefused, match=r"already refunded \(\$39.99 on "):
        checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Again")

    assert len(_stripe_refunds()) == 1 and _reversals().count() == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": "  "}, "Say why"),
    ({"reason": "x", "staff_user": None}, "Only staff"),
])
def test_bad_requests_are_refused(purchase, shopper, staff, kwargs, message):
    with pytest.raises(RefundRefused, match=message):
        checkout_session_refund(session_id=purchase.pk, **{"staff_user": staff, **kwargs})

    _unchanged(purchase, shopper)


def test_a_shopper_is_not_staff(purchase, shopper):
    with pytest.raises(RefundRefused, match="Only staff"):
        checkout_session_refund(session_id=purchase.pk, staff_user=UserFactory(), reason="x")

    _unchanged(purchase, shopper)


@pytest.mark.parametrize("attributes, message", [
    ({"status": "active"}, "Only a paid and credited purchase"),
    ({"status": "expired"}, "Only a paid and credited purchase"),
    ({"kind": "cart", "package": None, "title": "Order", "amount_cents": 999, "currency": "usd"},
     "refund the order instead"),
])
def test_only_credited_package_purchases_are_refunded_here(db, staff, attributes, message):
    session = CheckoutSessionFactory(**attributes)

    with pytest.raises(RefundRefused, match=message):
        checkout_session_refund(session_id=session.pk, staff_user=staff, reason="x")

    assert not _stripe_refunds()


def test_an_unknown_session_is_refused(db, staff):
    with pytest.raises(RefundRefused, match="no such checkout session"):
        checkout_session_refund(session_id="00000000-0000-0000-0000-000000000000", staff_user=staff, reason="x")


def test_a_purchase_whose_payment_is_unknown_is_refused(purchase, shopper, staff):
    CheckoutSession.objects.filter(pk=purchase.pk).update(stripe_payment_intent_id="")

    with pytest.raises(RefundRefused, match="reconcile"):
        checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="x")

    _unchanged(purchase, shopper)


# --- the admin ----------------------------------------------------------------------------------------------

def test_staff_refund_a_purchase_from_its_admin_page(purchase, shopper, staff_client, staff):
    change = staff_client.get(reverse("admin:checkout_checkoutsession_change", args=[purchase.pk]))
    page = staff_client.get(_refund_url(purchase))
    once = page.context["form"].initial["once"]
    no_reason = staff_client.post(_refund_url(purchase), {"reason": "", "once": once})

    done = staff_client.post(_refund_url(purchase), {"reason": "Bought by mistake", "once": once}, follow=True)

    assert _refund_url(purchase).encode() in change.content
    assert page.status_code == 200 and b"550 points" in page.content and b"$39.99" in page.content
    assert no_reason.status_code == 200 and b"This field is required" in no_reason.content
    assert b"550 points taken back" in done.content
    assert b"Refunded $39.99 (awaiting Stripe&#x27;s confirmation)." in done.content
    refund = Refund.objects.get(session=purchase)
    assert (refund.amount_cents, refund.requested_by, refund.reason) == (3999, staff, "Bought by mistake")
    assert wallet_balance(user=shopper).current == 0
    assert b"Already refunded" in staff_client.get(_refund_url(purchase)).content


def test_the_admin_page_explains_a_refusal_when_the_points_were_spent(purchase, shopper, staff_client):
    wallet_spend(user=shopper, points=100, idempotency_key="spend:1", description="A picture")

    page = staff_client.get(_refund_url(purchase))
    refused = staff_client.post(_refund_url(purchase), {"reason": "Bought by mistake",
                                                        "once": page.context["form"].initial["once"]})

    assert b"will be refused" in page.content
    assert refused.status_code == 200
    assert b"they have 450 points now, and the package gave 550" in refused.content
    _unchanged(purchase, shopper)


def test_the_refund_action_opens_the_page_for_one_purchase(purchase, staff_client):
    one = staff_client.post(reverse(PURCHASES), {"action": "refund_purchase", "_selected_action": [str(purchase.pk)]})
    other = CheckoutSessionFactory(status="expired")
    two = staff_client.post(reverse(PURCHASES), {"action": "refund_purchase",
                                                "_selected_action": [str(purchase.pk), str(other.pk)]}, follow=True)

    assert one.status_code == 302 and one["Location"] == _refund_url(purchase)
    assert b"select exactly one" in two.content


def test_staff_without_the_refund_permission_cannot_refund(purchase, shopper, client):
    viewer = UserFactory(is_staff=True)
    client.force_login(viewer)

    assert client.get(_refund_url(purchase)).status_code == 403
    assert client.post(_refund_url(purchase), {"reason": "x"}).status_code == 403
    _unchanged(purchase, shopper)


def test_shoppers_are_sent_to_the_login_page(purchase, shopper, shopper_client):
    assert shopper_client.post(_refund_url(purchase), {"reason": "x"}).status_code == 302
    _unchanged(purchase, shopper)


def test_the_package_refund_form_is_single_use(purchase, shopper, staff_client, django_capture_on_commit_callbacks):
    once = staff_client.get(_refund_url(purchase)).context["form"].initial["once"]

    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(_refund_url(purchase), {"reason": "Bought by mistake", "once": once})
        again = staff_client.post(_refund_url(purchase), {"reason": "Bought by mistake", "once": once})

    assert first.status_code == 302
    assert again.status_code == 200 and b"This form was already submitted" in again.content
    assert Refund.objects.filter(session=purchase).count() == 1


def test_a_disputed_purchase_offers_no_refund_form(purchase, staff_client):
    from checkout.models import Dispute
    Dispute.objects.create(stripe_dispute_id="dp_test_hold", session=purchase, amount_cents=3999, currency="usd",
                           status="needs_response", opened_at=timezone.now())

    change = staff_client.get(reverse("admin:wallet_pointspurchase_change", args=[purchase.pk])).content.decode()
    page = staff_client.get(_refund_url(purchase)).content.decode()

    assert "The payment is disputed" in change and _refund_url(purchase) not in change
    assert 'id="refund-unavailable"' in page and "dp_test_hold" in page and 'name="reason"' not in page
