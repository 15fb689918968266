"""Disputes through the real webhook view: mirrored from Stripe's example dispute, each kind's hooks called once
each and in order whatever order the events come in, replays harmless, staff told once, disputes of payments
that are not ours not stored."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection

from checkout import kinds
from checkout.models import Dispute, WebhookEvent
from checkout.tasks import send_dispute_alert
from tests.disputes import DUE_BY, OPENED, dispute_event, dispute_object
from tests.factories import CheckoutSessionFactory, StaffFactory, UserFactory
from tests.stripe_events import deliver_concurrently, post_event, stripe_event

INTENT = "pi_test_gift_card"


class GiftCards(kinds.SessionKind):
    """A kind of purchase that only records what checkout told it, and whether the session was locked then."""

    name = "gift_card"

    def __init__(self):
        self.calls = []

    def on_dispute_opened(self, *, session, dispute, now):
        self.calls.append(("opened", session.pk, dispute.stripe_dispute_id, dispute.status,
                           connection.in_atomic_block))
        return "gift card frozen"

    def on_dispute_closed(self, *, session, dispute, won, now):
        self.calls.append(("closed", session.pk, dispute.stripe_dispute_id, won, connection.in_atomic_block))
        return "gift card thawed" if won else "gift card cancelled"


@pytest.fixture
def gift_cards(monkeypatch):
    handler = GiftCards()
    monkeypatch.setitem(kinds._KINDS, handler.name, handler)
    return handler


@pytest.fixture
def paid(db):
    """A paid gift card session whose payment is ``INTENT``."""
    return CheckoutSessionFactory(kind="gift_card", package=None, title="Gift card", amount_cents=2500,
                                  currency="usd", status="completed", stripe_session_id="cs_test_gift",
                                  stripe_payment_intent_id=INTENT)


def _event(kind: str, status: str, **dispute) -> dict:
    return dispute_event(kind, payment_intent=INTENT, amount=2500, status=status, **dispute)


def _statuses(client, events) -> list[str]:
    return [post_event(client, event).json()["status"] for event in events]


def test_a_dispute_is_mirrored_from_stripes_object(client, paid, gift_cards):
    response = post_event(client, _event("created", "needs_response", reason="product_not_received"))

    assert response.status_code == 200 and response.json()["status"] == "processed"
    dispute = Dispute.objects.get()
    assert (dispute.stripe_dispute_id, dispute.session, dispute.stripe_payment_intent_id, dispute.stripe_charge_id) \
        == ("dp_test_1", paid, INTENT, "ch_test_1")
    assert (dispute.amount_cents, dispute.currency, dispute.reason, dispute.status) == (
        2500, "usd", "product_not_received", "needs_response")
    assert dispute.evidence_due_by == datetime.fromtimestamp(DUE_BY, tz=UTC)
    assert dispute.opened_at == datetime.fromtimestamp(OPENED, tz=UTC)
    assert (dispute.outcome, dispute.closed_at, dispute.seller_note) == ("", None, "gift card frozen")
    assert list(dispute.status_changes.values_list("from_status", "to_status")) == [("", "needs_response")]
    assert WebhookEvent.objects.get().error == "dispute opened: gift card frozen"
    assert gift_cards.calls == [("opened", paid.pk, "dp_test_1", "needs_response", True)]


@pytest.mark.parametrize("order", [
    pytest.param(["created", "updated", "closed"], id="in order"),
    pytest.param(["closed", "created", "updated"], id="closed before created"),
    pytest.param(["updated", "closed", "created"], id="updated first"),
    pytest.param(["created", "closed", "updated"], id="updated after closed"),
])
@pytest.mark.parametrize("won", [True, False], ids=["won", "lost"])
def test_each_hook_runs_once_and_in_order_whatever_order_the_events_come_in(client, paid, gift_cards, order, won):
    events = {"created": _event("created", "needs_response"), "updated": _event("updated", "under_review"),
              "closed": _event("closed", "won" if won else "lost")}

    statuses = _statuses(client, [events[kind] for kind in order])
    replays = _statuses(client, list(events.values()))  # every one of them delivered again

    assert statuses == ["processed"] * 3 and replays == ["processed"] * 3
    assert [call[0] for call in gift_cards.calls] == ["opened", "closed"]
    assert gift_cards.calls[1] == ("closed", paid.pk, "dp_test_1", won, True)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.outcome) == (("won", "won") if won else ("lost", "lost"))
    assert dispute.closed_at is not None and not dispute.is_open
    assert dispute.seller_note == ("gift card thawed" if won else "gift card cancelled")


def test_a_status_never_moves_back_and_a_closed_dispute_never_reopens(client, paid, gift_cards):
    _statuses(client, [_event("created", "needs_response"), _event("updated", "under_review"),
                       _event("updated", "needs_response")])  # an older update, delivered late
    assert Dispute.objects.get().status == "under_review"

    _statuses(client, [_event("closed", "lost"), _event("updated", "under_review", reason="general"),
                       _event("funds_reinstated", "needs_response")])

    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.outcome, dispute.reason) == ("lost", "lost", "fraudulent")
    assert list(dispute.status_changes.values_list("from_status", "to_status")) == [
        ("", "needs_response"), ("needs_response", "under_review"), ("under_review", "lost")]
    assert [call[0] for call in gift_cards.calls] == ["opened", "closed"]


def test_an_inquiry_that_closes_without_escalating_is_won(client, paid, gift_cards):
    _statuses(client, [_event("created", "warning_needs_response"), _event("closed", "warning_closed")])

    assert Dispute.objects.get().outcome == "won"
    assert [call[0::3] for call in gift_cards.calls] == [("opened", "warning_needs_response"), ("closed", True)]


def test_funds_withdrawn_and_updates_move_the_mirrored_fields_while_open(client, paid, gift_cards):
    _statuses(client, [_event("created", "needs_response"),
                       dispute_event("funds_withdrawn", payment_intent=INTENT, amount=2000, due_by=DUE_BY + 3600)])

    dispute = Dispute.objects.get()
    assert (dispute.amount_cents, dispute.evidence_due_by) == (2000, datetime.fromtimestamp(DUE_BY + 3600, tz=UTC))
    assert len(gift_cards.calls) == 1


@pytest.mark.parametrize("dispute", [
    pytest.param(dispute_object(payment_intent="pi_test_not_ours", amount=2500), id="another payment"),
    pytest.param(dispute_object(payment_intent=None, amount=1000), id="no payment intent (Stripe's example)"),
    pytest.param({"id": "dp_test_bare", "object": "dispute"}, id="almost nothing"),
])
def test_a_dispute_of_a_payment_that_is_not_ours_is_ignored_and_not_stored(client, paid, gift_cards, dispute):
    response = post_event(client, stripe_event("charge.dispute.created", dispute))

    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().error.startswith("unknown payment")
    assert not Dispute.objects.exists() and gift_cards.calls == []


def test_a_charge_expanded_in_the_dispute_leads_to_its_payment_intent(client, paid, gift_cards):
    dispute = dispute_object(payment_intent=None, amount=2500)
    dispute["charge"] = {"id": "ch_test_1", "object": "charge", "payment_intent": INTENT}

    assert post_event(client, stripe_event("charge.dispute.created", dispute)).json()["status"] == "processed"

    assert Dispute.objects.get().stripe_charge_id == "ch_test_1"


def test_a_status_stripe_adds_later_is_taken_as_open_and_needing_a_response(client, paid, gift_cards, caplog):
    response = post_event(client, _event("created", "needs_more_cake"))

    assert response.status_code == 200
    assert Dispute.objects.get().status == "needs_response"
    assert "'needs_more_cake', which the shop does not know" in caplog.text


# --- staff are told ------------------------------------------------------------------------------------------

def test_staff_are_emailed_once_when_a_dispute_opens(client, paid, gift_cards, django_capture_on_commit_callbacks):
    StaffFactory(email="ops@example.com")
    StaffFactory(email="gone@example.com", is_active=False)
    UserFactory(email="shopper-not-staff@example.com")

    with django_capture_on_commit_callbacks() as queued:
        _statuses(client, [_event("created", "needs_response"), _event("created", "needs_response")])
    dispute = Dispute.objects.get()
    assert send_dispute_alert(str(dispute.pk)) is True
    with django_capture_on_commit_callbacks() as queued_later:
        _statuses(client, [_event("closed", "won")])
    assert send_dispute_alert(str(dispute.pk)) is False  # the task delivered twice: sent once

    assert len(queued) == 1 and queued_later == []  # queued once, after the first delivery committed
    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert message.subject == "Dispute opened: $25.00 for Gift card, evidence due by 2030-03-17 17:46 UTC"
    assert "https://dashboard.stripe.com/test/disputes/dp_test_1" in message.body
    assert f"/admin/checkout/dispute/{dispute.pk}/change/" in message.body
    assert "What the shop did: gift card frozen" in message.body


def test_without_staff_emails_the_alert_goes_to_admins(client, paid, gift_cards, settings):
    settings.ADMINS = [("Owner", "owner@example.com")]
    post_event(client, _event("created", "needs_response"))

    send_dispute_alert(str(Dispute.objects.get().pk))

    assert [message.to for message in mail.outbox] == [["owner@example.com"]]


def test_a_failed_alert_releases_its_claim_for_the_retry(client, paid, gift_cards, settings):
    StaffFactory(email="ops@example.com")
    post_event(client, _event("created", "needs_response"))
    settings.EMAIL_BACKEND = "tests.orders.failing_mail.Backend"

    with pytest.raises(OSError):
        send_dispute_alert(str(Dispute.objects.get().pk))

    assert Dispute.objects.get().staff_alerted_at is None


# --- concurrent deliveries ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_dispute_call_each_hook_once(gift_cards):
    paid = CheckoutSessionFactory(kind="gift_card", package=None, title="Gift card", amount_cents=2500,
                                  currency="usd", status="completed", stripe_session_id="cs_test_gift",
                                  stripe_payment_intent_id=INTENT)
    created, closed = _event("created", "needs_response"), _event("closed", "lost")

    statuses = deliver_concurrently([created, closed, created, closed, _event("updated", "under_review")])

    assert statuses == [200] * 5
    assert [call[0] for call in gift_cards.calls] == ["opened", "closed"]
    assert gift_cards.calls[1][1:4] == (paid.pk, "dp_test_1", False)
    assert Dispute.objects.get().outcome == "lost"
