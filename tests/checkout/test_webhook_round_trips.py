"""What a Stripe delivery costs in statements (each a round trip to PostgreSQL): pinned, so that a change that adds
one to the paths every payment takes is seen. In a real transaction (``transaction=True``), as in production."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkout.models import WebhookEvent
from stripe_fake import hosted
from tests.payments import paying_session
from tests.stripe_events import post_event, stripe_event
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def completed(shopper, package, held_webhooks):
    """The shopper's session for ``package`` paid on Stripe's page; its ``checkout.session.completed`` event."""
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    return session, held_webhooks.take("checkout.session.completed")


def _deliver(client, event) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as statements:
        response = post_event(client, event)
    assert response.status_code == 200, response.content
    return response.json(), [query["sql"] for query in statements.captured_queries]


def _shape(sql: list[str]) -> list[str]:
    """Each statement by its first word and the first table it names."""
    shapes = []
    for statement in sql:
        table = re.search(r"\b(checkout|wallet|shop|orders)_[a-z]+", statement)
        shapes.append(" ".join([statement.split()[0], *([table.group(0)] if table else [])]))
    return shapes


def test_a_first_delivery_is_seven_statements_and_a_replay_one(client, shopper, completed):
    session, event = completed

    first, first_sql = _deliver(client, event)
    replay, replay_sql = _deliver(client, event)

    assert first == replay == {"received": True, "status": "processed"}
    # Looked up (not seen before), BEGIN, stored with its likely outcome, the session locked, the points credited
    # (wallet and ledger in one statement, no savepoint), the session completed with its history row, COMMIT.
    assert _shape(first_sql) == [
        "SELECT checkout_webhookevent", "BEGIN", "INSERT checkout_webhookevent", "SELECT checkout_checkoutsession",
        "WITH wallet_wallet", "WITH checkout_checkoutsession", "COMMIT"], first_sql
    assert "wallet_ledgerentry" in first_sql[4] and "checkout_checkoutsessionstatuschange" in first_sql[5]
    assert not any("SAVEPOINT" in sql or sql.startswith("UPDATE") for sql in first_sql)
    # The replay: found processed, answered, nothing else.
    assert len(replay_sql) == 1 and replay_sql[0].startswith('SELECT "checkout_webhookevent"')
    record = WebhookEvent.objects.get()
    assert (record.status, record.error, record.attempts) == ("processed", "credited", 1)
    assert record.processed_at is not None and record.processed_at >= record.received_at
    assert wallet_balance(user=shopper).current == 550
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


def test_an_outcome_other_than_the_likely_one_is_written_over_it(client, shopper, completed):
    session, event = completed
    _deliver(client, event)
    # Stripe's other event for the same payment (async_payment_succeeded would credit, were it the first).
    again = stripe_event("checkout.session.async_payment_succeeded", event["data"]["object"])

    answer, sql = _deliver(client, again)

    assert answer == {"received": True, "status": "processed"}
    assert sum(statement.startswith('UPDATE "checkout_webhookevent"') for statement in sql) == 1, sql
    record = WebhookEvent.objects.get(event_id=again["id"])
    assert (record.status, record.error, record.attempts) == ("processed", "already completed", 1)
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


def test_a_payment_for_no_session_of_ours_is_stored_as_ignored(client, completed):
    session, event = completed
    stranger = {**event["data"]["object"], "id": "cs_test_not_ours", "client_reference_id": None,
                "metadata": {}}

    answer, sql = _deliver(client, stripe_event("checkout.session.completed", stranger))

    assert answer["status"] in {"ignored", "attention"}
    record = WebhookEvent.objects.get(stripe_object_id="cs_test_not_ours")
    assert record.status == answer["status"] and record.error != "credited"
    assert LedgerEntry.objects.count() == 0


def test_an_event_the_shop_does_not_handle_is_stored_ignored_in_one_insert(client):
    event = stripe_event("customer.created", {"id": "cus_test_1", "object": "customer"})

    answer, sql = _deliver(client, event)

    assert answer == {"received": True, "status": "ignored"}
    assert _shape(sql) == ["SELECT checkout_webhookevent", "BEGIN", "INSERT checkout_webhookevent", "COMMIT"], sql
    record = WebhookEvent.objects.get()
    assert (record.status, record.error) == ("ignored", "customer.created is not handled by the shop")


def test_a_failed_delivery_does_not_keep_the_likely_outcome(client, completed, monkeypatch):
    session, event = completed
    from wallet import checkout_kind

    def broken_credit(**kwargs):
        raise RuntimeError("the ledger is unavailable")

    monkeypatch.setattr(checkout_kind, "wallet_credit", broken_credit)
    assert post_event(client, event).status_code == 500
    record = WebhookEvent.objects.get()
    assert (record.status, record.attempts) == ("failed", 1) and "the ledger is unavailable" in record.error
    monkeypatch.undo()

    answer, _ = _deliver(client, event)

    assert answer == {"received": True, "status": "processed"}
    record.refresh_from_db()
    assert (record.status, record.error, record.attempts) == ("processed", "credited", 2)
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
