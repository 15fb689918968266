"""Refunds as a lifecycle, through the real webhook view: requested -> pending -> succeeded | failed | canceled,
moved by Stripe's ``refund.*``, ``charge.refund.updated`` and ``charge.refunded`` events (built on Stripe's own
example objects), replayed and in any order; failures (also after success) undo what the refund took back and
alert staff; refunds made in Stripe's Dashboard are applied like staff refunds."""

import itertools
import logging

import pytest
from django.core import mail
from django.urls import reverse

from checkout.models import CheckoutSession, Refund, WebhookEvent
from checkout.services import checkout_session_refund
from config.dashboard import dashboard_figures
from orders.downloads import download_item, download_token
from orders.models import OrderItem, OrderStatus
from orders.services.refunds import order_refund_stripe
from ops.alerts import staff_email_send
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from stripe_fake.refunds import refund_settle
from tests.factories import ProductFactory, paid_card_order
from tests.payments import pay_points_checkout
from tests.stripe_events import post_event, stripe_event
from tests.stripe_examples import stripe_example
from wallet.audit import wallet_audit
from wallet.models import LedgerEntry, RefundShortfall
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start, wallet_spend


@pytest.fixture
def staff_mail(monkeypatch):
    """Staff alerts' emails, sent at once when the alerting transaction commits (instead of by a worker)."""
    monkeypatch.setattr("ops.tasks.email_staff.delay",
                        lambda subject, message: staff_email_send(subject=subject, message=message))
    mail.outbox.clear()
    return mail.outbox


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST a signed event through the webhook view and run what its transaction left for after commit."""
    def delivered(event_type: str, obj: dict) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(client, stripe_event(event_type, obj))
        assert response.status_code == 200, response.content
        return response.json()

    return delivered


@pytest.fixture
def card_order(shopper):
    order = paid_card_order(user=shopper)
    OrderItem.objects.create(order=order, product=ProductFactory(), title="Harbour Lights", unit_price_cents=3999,
                             unit_price_points=450, quantity=1)
    return order


@pytest.fixture
def purchase(client, shopper, package):
    """550 points bought for $39.99, credited by the signed checkout.session.completed."""
    session = points_purchase_start(user=shopper, package=package).session
    pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://testserver")
    session.refresh_from_db()
    hosted.pay(session.stripe_session_id)
    [completed] = _sent("checkout.session.completed")
    assert post_event(client, completed).json()["status"] == "processed"
    session.refresh_from_db()
    assert wallet_balance(user=shopper).current == 550
    return session


def _sent(event_type: str) -> list[dict]:
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("created_at")
    return [public(row.data) for row in rows]


def _charge_id(payment_intent: str) -> str:
    intent = FakeStripeObject.objects.filter(pk=payment_intent).first()
    return (intent.data["latest_charge"] if intent else None) or "ch_test_example"


def _fail_at_stripe(refund: Refund, client) -> None:
    """The refund fails at the fake Stripe too (so Stripe would take another), and its events reach the shop."""
    refund_settle(refund.stripe_refund_id, "failed")
    for event in _sent("refund.failed"):
        assert post_event(client, event).status_code == 200


def refund_object(refund_or_intent, *, status: str, amount: int | None = None, stripe_id: str | None = None,
                  failure_reason: str | None = None, metadata: dict | None = None) -> dict:
    """Stripe's example refund, tied to one of ours (a ``Refund`` row: its id, amount and metadata) or, given a
    payment intent id, made in Stripe's Dashboard (no metadata of the shop's)."""
    if isinstance(refund_or_intent, Refund):
        refund = refund_or_intent
        intent = refund.session.stripe_payment_intent_id
        fields = {"id": stripe_id or refund.stripe_refund_id, "amount": refund.amount_cents,
                  "metadata": {"refund_id": str(refund.pk), "checkout_session_id": str(refund.session_id)}}
    else:
        intent = refund_or_intent
        fields = {"id": stripe_id, "amount": amount, "metadata": metadata or {}}
    fields.update(status=status, payment_intent=intent, charge=_charge_id(intent), currency="usd")
    if failure_reason:
        fields["failure_reason"] = failure_reason
    return stripe_example("refund", **fields)


def charge_object(payment_intent: str, *, amount: int, amount_refunded: int) -> dict:
    return stripe_example("charge", id=_charge_id(payment_intent), payment_intent=payment_intent, amount=amount,
                          amount_captured=amount, captured=True, amount_refunded=amount_refunded,
                          refunded=amount_refunded == amount)


def _statuses(refund: Refund) -> list[str]:
    return list(refund.status_changes.values_list("to_status", flat=True))


def _order(order) -> tuple:
    order.refresh_from_db()
    return order.status, order.refunded_cents


def _can_download(order) -> bool:
    item = order.items.get()
    try:
        download_item(token=download_token(item=item, user_id=order.user_id), user=order.user)
    except Exception:  # noqa: BLE001 -- the link is refused, whatever the reason
        return False
    return True


# --- a card order, refunded by staff: every transition through Stripe's events ---------------------------------

def test_a_card_refund_goes_pending_then_succeeded_and_replays_change_nothing(card_order, staff, deliver):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")
    refund = Refund.objects.get()
    assert refund.status == "pending" and _order(card_order) == (OrderStatus.REFUNDED, 3999)

    first = deliver("refund.updated", refund_object(refund, status="succeeded"))
    replays = [deliver(event_type, refund_object(refund, status="succeeded"))
               for event_type in ("refund.updated", "charge.refund.updated", "refund.updated")]

    refund.refresh_from_db()
    assert first["status"] == "processed" and refund.status == "succeeded"
    assert WebhookEvent.objects.order_by("received_at").first().error == (
        "refund succeeded: order refund already recorded")
    assert {reply["status"] for reply in replays} == {"processed"}
    assert list(WebhookEvent.objects.order_by("received_at").values_list("error", flat=True))[1:] == [
        "refund already succeeded"] * 3
    assert _statuses(refund) == ["requested", "pending", "succeeded"]
    assert _order(card_order) == (OrderStatus.REFUNDED, 3999)
    assert card_order.status_changes.filter(to_status="refunded").count() == 1


def test_stripe_asking_for_an_action_keeps_the_refund_pending(card_order, staff, deliver, fake_stripe):
    # given: a refund Stripe made whose answer never reached the shop
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds", times=10)
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture", cents=1000)
    refund = Refund.objects.get()
    assert (refund.status, refund.stripe_refund_id) == ("requested", None)
    stripe_id = FakeStripeObject.objects.get(kind="refund").pk

    deliver("refund.created", refund_object(refund, status="requires_action", stripe_id=stripe_id))

    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == ("pending", stripe_id)
    assert refund.status_changes.last().note == f"Stripe: refund {stripe_id} requires_action (requires_action)"
    assert _order(card_order) == (OrderStatus.COMPLETED, 1000)


def test_a_refund_that_fails_restores_the_order_alerts_staff_and_can_be_asked_again(
        card_order, staff, deliver, staff_mail, caplog):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")
    refund = Refund.objects.get()
    assert _order(card_order) == (OrderStatus.REFUNDED, 3999) and not _can_download(card_order)

    with caplog.at_level(logging.ERROR):
        outcome = deliver("refund.failed", refund_object(refund, status="failed", failure_reason="lost_or_stolen_card"))
    refund_settle(refund.stripe_refund_id, "failed")  # as Stripe has it (so that it takes another refund)

    # then: nothing is refunded, the order is completed again (its downloads work), and staff know
    refund.refresh_from_db()
    assert outcome["status"] == "processed"
    assert (refund.status, refund.failure_message) == (
        "failed", "Stripe could not refund the payment (lost_or_stolen_card).")
    assert _order(card_order) == (OrderStatus.COMPLETED, 0) and _can_download(card_order)
    assert card_order.status_changes.last().reason == (
        "Stripe refused the refund of $39.99: Stripe could not refund the payment (lost_or_stolen_card). $0.00 of "
        "$39.99 refunded now; the order is completed again.")
    assert "staff_alert Refund of $39.99 failed" in caplog.text
    [email] = staff_mail
    assert email.to == [staff.email] and email.subject == "[shop staff] Refund of $39.99 failed: Order"
    assert "lost_or_stolen_card" in email.body and "after Stripe had accepted it" in email.body
    assert dashboard_figures().undone_refunds == 1

    # and: a late "succeeded" cannot bring it back, and staff can refund again: a new refund, not the failed one
    deliver("refund.updated", refund_object(refund, status="succeeded"))
    refund.refresh_from_db()
    assert refund.status == "failed" and _order(card_order) == (OrderStatus.COMPLETED, 0)
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture, again")
    again = Refund.objects.exclude(pk=refund.pk).get()
    assert again.status == "pending" and again.idempotency_key != refund.idempotency_key
    assert _order(card_order) == (OrderStatus.REFUNDED, 3999)


def test_a_refund_that_fails_after_it_succeeded_is_undone(card_order, staff, deliver, staff_mail):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file", cents=1000)
    refund = Refund.objects.get()
    deliver("refund.updated", refund_object(refund, status="succeeded"))
    assert _order(card_order) == (OrderStatus.COMPLETED, 1000)

    # when: the customer's bank returns the money
    deliver("refund.updated", refund_object(refund, status="failed", failure_reason="expired_or_canceled_card"))
    deliver("refund.failed", refund_object(refund, status="failed", failure_reason="expired_or_canceled_card"))

    refund.refresh_from_db()
    assert _statuses(refund) == ["requested", "pending", "succeeded", "failed"]
    assert _order(card_order) == (OrderStatus.COMPLETED, 0)
    assert refund.session.stripe_refunded_cents == 0
    assert len(staff_mail) == 1 and "after Stripe had accepted it" in staff_mail[0].body


def test_a_canceled_refund_is_undone_like_a_failed_one(card_order, staff, deliver, staff_mail):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file")
    refund = Refund.objects.get()

    deliver("refund.updated", refund_object(refund, status="canceled"))

    refund.refresh_from_db()
    assert (refund.status, refund.failure_message) == ("canceled", "Stripe canceled the refund.")
    assert _order(card_order) == (OrderStatus.COMPLETED, 0)
    assert "Stripe canceled the refund of $39.99" in card_order.status_changes.last().reason
    assert staff_mail[0].subject == "[shop staff] Refund of $39.99 canceled: Order"
    assert dashboard_figures().recent_undone_refunds == [refund]


# --- a points package, refunded by staff: any delivery order ends the same -------------------------------------

PACKAGE_EVENTS = [("refund.created", "pending"), ("refund.updated", "succeeded"), ("refund.failed", "failed")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_package_refund_events_in_any_order_end_failed_with_the_points_given_back_once(
        purchase, shopper, staff, deliver, order, staff_mail):
    checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")
    refund = Refund.objects.get()
    assert wallet_balance(user=shopper).current == 0

    for index in [*order, *order]:  # every event twice
        event_type, status = PACKAGE_EVENTS[index]
        deliver(event_type, refund_object(refund, status=status, failure_reason="insufficient_funds"))

    refund.refresh_from_db()
    assert refund.status == "failed"
    assert wallet_balance(user=shopper).current == 550
    assert LedgerEntry.objects.filter(idempotency_key=f"{refund.idempotency_key}:failed").count() == 1
    assert len(staff_mail) == 1
    assert wallet_audit().ok


def test_a_package_whose_refund_failed_can_be_refunded_again(purchase, shopper, staff, deliver, client, staff_mail):
    checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake")
    refund = Refund.objects.get()
    deliver("refund.updated", refund_object(refund, status="succeeded"))
    _fail_at_stripe(refund, client)
    assert wallet_balance(user=shopper).current == 550

    again = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="Bought by mistake, again")

    assert again.pk != refund.pk and again.status == "pending"
    assert wallet_balance(user=shopper).current == 0
    assert LedgerEntry.objects.filter(kind="reversal").count() == 2
    assert wallet_audit().ok
    purchase.refresh_from_db()
    assert purchase.stripe_refunded_cents == 3999


# --- refunds made in Stripe's Dashboard ----------------------------------------------------------------------

def test_a_dashboard_refund_of_a_card_order_is_recorded_and_marks_the_order(card_order, deliver):
    intent = card_order.stripe_payment_intent_id

    outcome = deliver("refund.created", refund_object(intent, status="succeeded", amount=3999, stripe_id="re_dash_1"))
    deliver("charge.refunded", charge_object(intent, amount=3999, amount_refunded=3999))
    deliver("refund.created", refund_object(intent, status="succeeded", amount=3999, stripe_id="re_dash_1"))

    [refund] = Refund.objects.all()
    assert (refund.origin, refund.requested_by, refund.stripe_refund_id, refund.status, refund.amount_cents) == (
        "stripe", None, "re_dash_1", "succeeded", 3999)
    assert outcome["status"] == "processed"
    assert _order(card_order) == (OrderStatus.REFUNDED, 3999)
    assert card_order.status_changes.last().reason == (
        "A refund made in Stripe's Dashboard of $39.99: $39.99 of $39.99 refunded, all of it.")
    assert WebhookEvent.objects.get(type="charge.refunded").error == "refund already recorded"


def test_a_partial_dashboard_refund_told_first_by_charge_refunded_is_one_refund(card_order, deliver):
    intent = card_order.stripe_payment_intent_id

    deliver("charge.refunded", charge_object(intent, amount=3999, amount_refunded=1000))
    deliver("refund.created", refund_object(intent, status="pending", amount=1000, stripe_id="re_dash_2"))
    deliver("refund.updated", refund_object(intent, status="succeeded", amount=1000, stripe_id="re_dash_2"))

    [refund] = Refund.objects.all()
    assert (refund.origin, refund.stripe_refund_id, refund.status) == ("stripe", "re_dash_2", "succeeded")
    assert _order(card_order) == (OrderStatus.COMPLETED, 1000)
    assert card_order.is_partially_refunded


def test_a_dashboard_refund_of_a_package_takes_its_points_back(purchase, shopper, deliver, staff_mail):
    intent = purchase.stripe_payment_intent_id

    deliver("refund.created", refund_object(intent, status="pending", amount=3999, stripe_id="re_dash_3"))
    deliver("refund.updated", refund_object(intent, status="succeeded", amount=3999, stripe_id="re_dash_3"))

    refund = Refund.objects.get()
    assert (refund.origin, refund.status) == ("stripe", "succeeded")
    assert wallet_balance(user=shopper).current == 0
    [reversal] = LedgerEntry.objects.filter(kind="reversal")
    assert (reversal.amount, reversal.metadata["refund_id"]) == (-550, str(refund.pk))
    assert not RefundShortfall.objects.exists() and not staff_mail
    assert dashboard_figures().package_refunded_cents == 3999


def test_a_dashboard_refund_of_spent_points_takes_what_is_left_and_records_the_rest(
        purchase, shopper, deliver, staff_mail, staff_client):
    wallet_spend(user=shopper, points=400, idempotency_key="spend:1", description="A picture")
    intent = purchase.stripe_payment_intent_id

    outcome = deliver("refund.created", refund_object(intent, status="succeeded", amount=3999, stripe_id="re_dash_4"))

    # then: 150 taken back (the balance never goes below zero), 400 recorded as a shortfall, and staff told
    assert outcome["status"] == "processed"
    assert WebhookEvent.objects.get(type="refund.created").error == (
        "refund made in Stripe recorded (succeeded): package refunded in Stripe: 150 points taken back, 400 short "
        "(already spent): recorded")
    assert wallet_balance(user=shopper).current == 0
    [shortfall] = RefundShortfall.objects.all()
    assert (shortfall.points, shortfall.purchase_id, shortfall.refund.stripe_refund_id) == (400, purchase.pk,
                                                                                            "re_dash_4")
    assert staff_mail[0].subject == "[shop staff] Refund of $39.99: 400 points could not be taken back"
    figures = dashboard_figures()
    assert (figures.open_shortfalls, figures.open_shortfall_points) == (1, 400)
    assert b"400 points could not be taken back" in staff_client.get(
        reverse("admin:wallet_pointspurchase_change", args=[purchase.pk])).content
    listed = staff_client.get(reverse("admin:wallet_refundshortfall_changelist") + "?open=yes")
    assert listed.status_code == 200 and shopper.email.encode() in listed.content
    assert b'id="open-shortfalls">1<' in staff_client.get(reverse("admin:dashboard")).content

    # when: that refund fails after all: the shortfall is settled and the 150 points are given back
    deliver("refund.failed", refund_object(intent, status="failed", amount=3999, stripe_id="re_dash_4"))

    shortfall.refresh_from_db()
    assert shortfall.settled_at is not None and shortfall.settled_because == "the refund failed"
    assert wallet_balance(user=shopper).current == 150
    assert dashboard_figures().open_shortfalls == 0
    assert wallet_audit().ok


def test_a_partial_dashboard_refund_of_a_package_takes_back_its_share(purchase, shopper, deliver):
    deliver("refund.created", refund_object(purchase.stripe_payment_intent_id, status="pending", amount=1999,
                                            stripe_id="re_dash_5"))

    assert wallet_balance(user=shopper).current == 550 - 550 * 1999 // 3999  # 275 taken back

    deliver("refund.created", refund_object(purchase.stripe_payment_intent_id, status="pending", amount=2000,
                                            stripe_id="re_dash_6"))

    assert wallet_balance(user=shopper).current == 0
    purchase.refresh_from_db()
    assert purchase.stripe_refunded_cents == 3999


@pytest.mark.parametrize("metadata", [{}, {"refund_id": "not-a-uuid"},
                                      {"refund_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}])
def test_refunds_of_payments_that_are_not_ours_are_ignored(card_order, deliver, metadata):
    outcome = deliver("refund.created", refund_object("pi_test_not_ours", status="succeeded", amount=100,
                                                      stripe_id="re_other", metadata=metadata))

    assert outcome["status"] == "ignored"
    assert not Refund.objects.exists() and _order(card_order) == (OrderStatus.COMPLETED, 0)


def test_a_refund_event_naming_our_refund_of_another_payment_is_not_applied_to_it(card_order, staff, deliver):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file", cents=500)
    ours = Refund.objects.get()
    other = paid_card_order(user=card_order.user)

    deliver("refund.created", refund_object(other.stripe_payment_intent_id, status="succeeded", amount=500,
                                            stripe_id="re_copied_metadata", metadata={"refund_id": str(ours.pk)}))

    ours.refresh_from_db()
    assert ours.stripe_refund_id != "re_copied_metadata" and ours.status == "pending"
    made_in_stripe = Refund.objects.get(stripe_refund_id="re_copied_metadata")
    assert made_in_stripe.session == other.checkout_session and made_in_stripe.origin == "stripe"
    assert CheckoutSession.objects.get(pk=other.checkout_session_id).stripe_refunded_cents == 500
