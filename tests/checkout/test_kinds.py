"""checkout is the payment boundary: it imports none of the apps that sell through it, and a new kind of purchase
is a handler registered from outside, not an edit to checkout."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from checkout import gateway, kinds
from checkout.models import CheckoutSession
from checkout.models import Refund
from checkout.services import (
    Offer,
    RefundRefused,
    checkout_session_pay,
    checkout_session_refund,
    checkout_session_start,
)
from stripe_fake import hosted

CHECKOUT = Path(settings.BASE_DIR) / "checkout"
SELLERS = {"orders", "wallet", "shop"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_checkout_imports_nothing_from_the_apps_that_sell_through_it():
    sources = [path for path in CHECKOUT.rglob("*.py") if "migrations" not in path.parts]
    offending = {f"{path.relative_to(CHECKOUT)}: {module}" for path in sources
                 for module in _imported_modules(path) if module.split(".")[0] in SELLERS}

    assert len(sources) > 10  # the scan sees the app
    assert offending == set()


def test_checkout_models_point_at_no_model_of_the_sellers():
    targets = {field.related_model._meta.app_label for model in (CheckoutSession,)
               for field in model._meta.get_fields() if field.is_relation and field.concrete}

    assert targets <= {"checkout", settings.AUTH_USER_MODEL.split(".")[0]}


class GiftCards(kinds.SessionKind):
    """A kind of purchase checkout has never heard of: it only records what checkout asked of it."""

    name = "gift_card"
    refund_elsewhere = None

    def __init__(self):
        self.calls = []

    def on_paid(self, *, session, payment, now):
        self.calls.append(("paid", session.pk, payment.amount_cents, payment.payment_intent_id))
        return "gift card issued"

    def on_ended_unpaid(self, *, session, now):
        self.calls.append(("ended", session.pk, session.status))

    def on_refund_requested(self, *, session, refund, staff_user, now):
        self.calls.append(("refund requested", session.pk, refund.reason))
        return "gift card cancelled"

    def on_refund_failed(self, *, session, refund, now):
        self.calls.append(("refund failed", session.pk, refund.failure_message))
        return "gift card restored"

    def on_refunded(self, *, session, progress, now):
        self.calls.append(("refunded", session.pk, progress.refunded_cents, progress.refund.status,
                           progress.increased, progress.made_in_stripe))
        return "gift card refund confirmed"


@pytest.fixture
def gift_cards(monkeypatch):
    handler = GiftCards()
    monkeypatch.setitem(kinds._KINDS, handler.name, handler)
    return handler


def _start(user, amount_cents=2500):
    with transaction.atomic():
        return checkout_session_start(user=user, offer=Offer(kind="gift_card", title="Gift card",
                                                             amount_cents=amount_cents, currency="usd")).session


def _pay(session, user):
    return checkout_session_pay(session_id=session.pk, user=user, success_url="http://testserver/gift/done/",
                                cancel_url="http://testserver/gift/")


def test_a_new_kind_is_paid_ended_and_refunded_through_its_own_handler(
        gift_cards, shopper, staff, webhooks, django_capture_on_commit_callbacks):
    # given: a gift card checkout the shopper gave up on, then one they paid on Stripe's page
    abandoned = _start(shopper)
    session = _start(shopper)
    _pay(session, shopper)
    session.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        intent = hosted.pay(session.stripe_session_id)["payment_intent"]

    # then: checkout ended the first through the handler and handed the payment to it once
    session.refresh_from_db()
    assert session.status == "completed"
    assert gift_cards.calls == [("ended", abandoned.pk, "invalidated"), ("paid", session.pk, 2500, intent)]
    assert ("checkout.session.completed", 200) in webhooks

    # when: staff refund it, and Stripe confirms the refund
    with django_capture_on_commit_callbacks(execute=True):
        checkout_session_refund(session_id=session.pk, staff_user=staff, reason="Wrong name on the card")

    assert gift_cards.calls[2:] == [("refund requested", session.pk, "Wrong name on the card"),
                                    ("refunded", session.pk, 2500, "pending", True, False),
                                    ("refunded", session.pk, 2500, "succeeded", False, False)]
    assert ("charge.refunded", 200) in webhooks and ("refund.updated", 200) in webhooks


def test_a_refund_stripe_refuses_is_handed_back_to_the_kind(gift_cards, shopper, staff, held_webhooks):
    session = _start(shopper)
    _pay(session, shopper)
    session.refresh_from_db()
    intent = hosted.pay(session.stripe_session_id)["payment_intent"]
    CheckoutSession.objects.filter(pk=session.pk).update(status="completed", completed_at=session.created_at,
                                                         stripe_payment_intent_id=intent)
    # Stripe will refuse the refund for good: someone refunded the charge in Stripe's dashboard first
    gateway.refund_create(payment_intent_id=intent, idempotency_key="refunded-in-the-dashboard")

    with pytest.raises(RefundRefused, match="Stripe refused the refund"):
        checkout_session_refund(session_id=session.pk, staff_user=staff, reason="Wrong name on the card")

    refund = Refund.objects.get(session=session)
    assert refund.status == "failed" and refund.attempts == 1
    assert [call[0] for call in gift_cards.calls if call[0].startswith("refund")] == [
        "refund requested", "refund failed"]
    assert list(refund.status_changes.values_list("from_status", "to_status")) == [
        ("", "requested"), ("requested", "failed")]


def test_a_session_of_a_kind_nobody_handles_fails_loudly(shopper):
    with pytest.raises(kinds.UnknownSessionKind, match="no_such_kind"):
        kinds.handler_for("no_such_kind")
