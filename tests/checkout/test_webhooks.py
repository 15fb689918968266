"""The webhook endpoint: signatures, one row per event id, every handled type, replays in any order and at once."""

import copy
import json
import random
import time

import pytest

from checkout.models import CheckoutSession, WebhookEvent
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from tests.factories import PointsPackageFactory, UserFactory
from tests.payments import paying_session
from tests.stripe_events import WEBHOOK_URL, deliver_concurrently, post_event, sign, stripe_event
from wallet.models import LedgerEntry, PointsPurchase
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start


def _events_of_fake(event_type: str) -> list[dict]:
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("created_at")
    return [public(row.data) for row in rows]


def _stripe_session(session) -> dict:
    return public(FakeStripeObject.objects.get(pk=session.stripe_session_id).data)


@pytest.fixture
def paid(shopper, package):
    """A session declined once and then paid on Stripe's page, with every event Stripe could send about it."""
    session = paying_session(shopper, package)
    hosted.decline(session.stripe_session_id)
    hosted.pay(session.stripe_session_id)
    [declined], [completed] = _events_of_fake("payment_intent.payment_failed"), _events_of_fake(
        "checkout.session.completed")
    paid_object = completed["data"]["object"]
    expired_object = {**copy.deepcopy(paid_object), "status": "expired", "payment_status": "unpaid",
                      "payment_intent": None}
    events = [declined, completed, stripe_event("checkout.session.async_payment_succeeded", paid_object),
              stripe_event("checkout.session.expired", expired_object)]
    return session, events


def _credits():
    return LedgerEntry.objects.filter(kind="purchase").count()


def test_completed_credits_the_package_once_and_records_the_delivery(client, shopper, paid):
    session, events = paid
    completed = events[1]

    first, second = post_event(client, completed), post_event(client, completed)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == {"received": True, "status": "processed"}
    assert _credits() == 1 and wallet_balance(user=shopper).current == 550
    record = WebhookEvent.objects.get()
    assert (record.event_id, record.type, record.status, record.attempts) == (
        completed["id"], "checkout.session.completed", "processed", 1)
    assert record.stripe_object_id == session.stripe_session_id and record.payload == completed
    session.refresh_from_db()
    assert session.status == "completed" and session.stripe_payment_intent_id.startswith("pi_test_")


def test_every_event_type_replayed_many_times_in_any_order_credits_exactly_once(client, shopper, paid):
    session, events = paid
    deliveries = events * 6
    random.Random(4).shuffle(deliveries)

    statuses = {post_event(client, event).status_code for event in deliveries}

    assert statuses == {200}
    assert _credits() == 1 and wallet_balance(user=shopper).current == 550
    assert WebhookEvent.objects.count() == 4
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    session.refresh_from_db()
    assert (session.status, session.stripe_status, session.stripe_payment_status) == ("completed", "complete", "paid")


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (3, 0, 2, 1), (2, 3, 0, 1)])
def test_orderings_end_in_the_same_state(client, shopper, paid, order):
    session, events = paid

    for index in order:
        assert post_event(client, events[index]).status_code == 200

    session.refresh_from_db()
    assert session.status == "completed" and not session.awaiting_stripe
    assert _credits() == 1


def test_expired_after_completed_changes_nothing(client, paid):
    session, events = paid
    post_event(client, events[1])
    session.refresh_from_db()
    before = (session.status, session.stripe_status, session.updated_at, session.completed_at)

    post_event(client, events[3])

    session.refresh_from_db()
    assert (session.status, session.stripe_status, session.updated_at, session.completed_at) == before


def test_expired_alone_expires_the_active_session(client, shopper, package):
    session = paying_session(shopper, package)
    obj = {**_stripe_session(session), "status": "expired", "url": None}

    assert post_event(client, stripe_event("checkout.session.expired", obj)).json()["status"] == "processed"

    session.refresh_from_db()
    assert (session.status, session.stripe_status, session.awaiting_stripe) == ("expired", "expired", False)


def test_a_payment_for_an_invalidated_session_is_still_credited(client, shopper, package, other_package):
    old = paying_session(shopper, package)
    new = points_purchase_start(user=shopper, package=other_package).session  # its expiry call never ran
    hosted.pay(old.stripe_session_id)

    post_event(client, _events_of_fake("checkout.session.completed")[0])

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == ("completed", "active")
    assert wallet_balance(user=shopper).current == 550


def test_completed_but_unpaid_waits_for_the_async_payment(client, shopper, package):
    session = paying_session(shopper, package)
    hosted.pay_later(session.stripe_session_id)
    post_event(client, _events_of_fake("checkout.session.completed")[0])
    session.refresh_from_db()
    assert (session.status, session.stripe_status, session.awaiting_stripe) == ("active", "complete", True)
    assert _credits() == 0

    hosted.settle(session.stripe_session_id, succeeded=True)
    post_event(client, _events_of_fake("checkout.session.async_payment_succeeded")[0])

    session.refresh_from_db()
    assert session.status == "completed" and _credits() == 1


def test_async_payment_failed_ends_the_session_without_credit(client, shopper, package):
    session = paying_session(shopper, package)
    hosted.pay_later(session.stripe_session_id)
    hosted.settle(session.stripe_session_id, succeeded=False)

    for event in _events_of_fake("checkout.session.completed") + _events_of_fake(
            "checkout.session.async_payment_failed"):
        assert post_event(client, event).status_code == 200

    session.refresh_from_db()
    assert (session.status, session.awaiting_stripe) == ("invalidated", False)
    assert "did not complete the payment" in session.failure_message and _credits() == 0


def test_payment_failed_is_shown_and_ignored_after_completion(client, paid):
    session, events = paid
    post_event(client, events[0])
    session.refresh_from_db()
    assert session.failure_message == "Your card was declined." and session.status == "active"

    post_event(client, events[1])
    again = stripe_event("payment_intent.payment_failed", events[0]["data"]["object"])
    assert post_event(client, again).json()["status"] == "processed"
    session.refresh_from_db()
    assert session.status == "completed" and session.failure_message == ""


@pytest.mark.parametrize("event", [
    stripe_event("charge.refunded", {"id": "ch_test_1", "object": "charge"}),
    stripe_event("checkout.session.completed", {"id": "cs_test_elsewhere", "object": "checkout.session",
                                                "status": "complete", "payment_status": "paid",
                                                "metadata": {"checkout_session_id": "not-ours"}}),
])
def test_events_about_nothing_of_ours_are_stored_as_ignored(client, db, event):
    response = post_event(client, event)

    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().error != ""
    assert _credits() == 0


def test_a_processing_failure_answers_500_records_it_and_a_later_delivery_succeeds(client, shopper, paid):
    session, events = paid
    PointsPurchase.objects.filter(checkout_session=session.pk).update(points=10**13)  # beyond what the ledger accepts

    first, second = post_event(client, events[1]), post_event(client, events[1])

    assert (first.status_code, second.status_code) == (500, 500)
    record = WebhookEvent.objects.get()
    assert (record.status, record.attempts) == ("failed", 2) and "InvalidPoints" in record.error
    session.refresh_from_db()
    assert session.status == "active" and _credits() == 0  # rolled back as a whole

    PointsPurchase.objects.filter(checkout_session=session.pk).update(points=550)  # staff corrected it; Stripe retries
    assert post_event(client, events[1]).status_code == 200
    record.refresh_from_db()
    assert (record.status, record.attempts, record.error) == ("processed", 3, "credited")
    assert wallet_balance(user=shopper).current == 550


# --- deliveries we refuse -------------------------------------------------------------------------------------

def _raw_post(client, body: bytes, signature: str | None):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)


GOOD = json.dumps(stripe_event("checkout.session.completed", {"id": "cs_test_x", "object": "checkout.session"}))


@pytest.mark.parametrize("body, signature", [
    pytest.param(GOOD, sign(GOOD, secret="whsec_someone_else"), id="forged"),
    pytest.param(GOOD, None, id="no signature header"),
    pytest.param(GOOD, "", id="empty signature header"),
    pytest.param(GOOD, "t=abc,v1=zzz", id="garbled signature header"),
    pytest.param(GOOD, sign(GOOD, timestamp=int(time.time()) - 600), id="stale timestamp"),
    pytest.param(GOOD, sign(GOOD, timestamp=int(time.time()) + 600), id="timestamp in the future"),
    pytest.param(GOOD.replace("cs_test_x", "cs_test_y"), sign(GOOD), id="body changed after signing"),
    pytest.param("not json", sign("not json"), id="not JSON"),
    pytest.param("[1, 2]", sign("[1, 2]"), id="JSON but not an object"),
    pytest.param('{"id": "evt_1", "type": "x"}', sign('{"id": "evt_1", "type": "x"}'), id="no data.object"),
    pytest.param('{"object": "event", "type": "x", "data": {"object": {}}}',
                 sign('{"object": "event", "type": "x", "data": {"object": {}}}'), id="no id"),
])
def test_bad_deliveries_are_refused_with_400_and_a_log_line(client, db, caplog, body, signature):
    response = _raw_post(client, body.encode(), signature)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert "Rejected a Stripe webhook" in caplog.text


def test_a_body_that_is_not_utf8_is_refused(client, db):
    assert _raw_post(client, b"\xff\xfe\x00", sign("x")).status_code == 400


def test_only_post_is_accepted(client, db):
    assert client.get(WEBHOOK_URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_every_event_credit_exactly_once(held_webhooks):
    user = UserFactory()
    session = paying_session(user, PointsPackageFactory(points=550))
    hosted.decline(session.stripe_session_id)
    hosted.pay(session.stripe_session_id)
    completed = next(event for event in held_webhooks if event["type"] == "checkout.session.completed")
    events = held_webhooks + [stripe_event("checkout.session.async_payment_succeeded", completed["data"]["object"])]
    deliveries = events * 5
    random.Random(7).shuffle(deliveries)
    statuses = deliver_concurrently(deliveries)

    assert statuses == [200] * len(deliveries)
    assert _credits() == 1 and wallet_balance(user=user).current == 550
    assert WebhookEvent.objects.count() == len(events)
    assert CheckoutSession.objects.get(pk=session.pk).status == "completed"


def test_a_timestamp_a_little_ahead_within_the_tolerance_is_accepted(client, db):
    # a sender's clock a minute fast is within the five minutes Stripe allows either way
    response = _raw_post(client, GOOD.encode(), sign(GOOD, timestamp=int(time.time()) + 60))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
