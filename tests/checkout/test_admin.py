"""Staff views of checkout sessions and webhook deliveries: read-only, searchable, actions through services."""

import pytest
from django.urls import reverse

from checkout.models import WebhookEvent
from stripe_fake import hosted
from tests.payments import paying_session
from tests.stripe_events import post_event, stripe_event
from wallet.models import PointsPurchase
from wallet.selectors import wallet_balance

SESSIONS = "admin:checkout_checkoutsession_changelist"
EVENTS = "admin:checkout_webhookevent_changelist"


@pytest.fixture
def paying(shopper, package):
    return paying_session(shopper, package)


@pytest.mark.parametrize("query", [{}, {"status__exact": "active"}, {"kind__exact": "points_package"},
                                   {"awaiting_stripe__exact": "1"}, {"q": "shopper"}])
def test_sessions_list_filters_and_search(staff_client, paying, query, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = staff_client.get(reverse(SESSIONS), query)

    assert response.status_code == 200
    assert str(paying.pk).encode() in response.content


def test_search_by_stripe_id_finds_the_session(staff_client, paying):
    found = staff_client.get(reverse(SESSIONS), {"q": paying.stripe_session_id})
    missed = staff_client.get(reverse(SESSIONS), {"q": "cs_test_nothing"})

    assert str(paying.pk).encode() in found.content
    assert str(paying.pk).encode() not in missed.content


def test_sessions_are_read_only(staff_client, paying):
    detail = staff_client.get(reverse("admin:checkout_checkoutsession_change", args=[paying.pk]))

    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert staff_client.get(reverse("admin:checkout_checkoutsession_add")).status_code == 403
    assert staff_client.post(reverse("admin:checkout_checkoutsession_delete", args=[paying.pk])).status_code == 403


def test_reconcile_action_credits_a_paid_session(staff_client, shopper, paying):
    hosted.pay(paying.stripe_session_id)

    response = staff_client.post(reverse(SESSIONS), {"action": "reconcile_with_stripe",
                                                     "_selected_action": [str(paying.pk)]}, follow=True)

    assert b"Reconciled: 1 credited." in response.content
    assert wallet_balance(user=shopper).current == 550


@pytest.mark.parametrize("query", [{}, {"status__exact": "processed"}, {"type__exact": "charge.refunded"}])
def test_deliveries_list_and_filters(staff_client, client, db, query):
    event = stripe_event("charge.refunded", {"id": "ch_test_1"})
    post_event(client, event)

    response = staff_client.get(reverse(EVENTS), query)

    assert response.status_code == 200


def test_deliveries_search_by_event_id(staff_client, client, db):
    first, second = stripe_event("charge.refunded", {"id": "ch_1"}), stripe_event("charge.refunded", {"id": "ch_2"})
    post_event(client, first)
    post_event(client, second)

    response = staff_client.get(reverse(EVENTS), {"q": first["id"]})

    assert first["id"].encode() in response.content and second["id"].encode() not in response.content


def test_a_delivery_shows_its_payload_and_cannot_be_edited(staff_client, client, db):
    post_event(client, stripe_event("charge.refunded", {"id": "ch_test_shown"}))
    record = WebhookEvent.objects.get()

    detail = staff_client.get(reverse("admin:checkout_webhookevent_change", args=[record.pk]))

    assert b"ch_test_shown" in detail.content and b'name="_save"' not in detail.content
    assert staff_client.get(reverse("admin:checkout_webhookevent_add")).status_code == 403


def test_staff_reprocess_a_failed_delivery_through_the_service(staff_client, client, shopper, paying):
    hosted.pay(paying.stripe_session_id)
    completed = stripe_event("checkout.session.completed", hosted.load_session(paying.stripe_session_id))
    PointsPurchase.objects.filter(checkout_session=paying.pk).update(points=10**13)
    assert post_event(client, completed).status_code == 500
    record = WebhookEvent.objects.get()

    still_failing = staff_client.post(reverse(EVENTS), {"action": "reprocess", "_selected_action": [record.pk]},
                                      follow=True)
    assert b"Processed again: 1 failed." in still_failing.content
    PointsPurchase.objects.filter(checkout_session=paying.pk).update(points=550)
    fixed = staff_client.post(reverse(EVENTS), {"action": "reprocess", "_selected_action": [record.pk]},
                              follow=True)

    assert b"Processed again: 1 processed." in fixed.content
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("processed", 3)
    assert wallet_balance(user=shopper).current == 550
    again = staff_client.post(reverse(EVENTS), {"action": "reprocess", "_selected_action": [record.pk]},
                              follow=True)
    assert b"nothing to do" in again.content and wallet_balance(user=shopper).current == 550


def test_shoppers_cannot_see_deliveries(shopper_client):
    assert shopper_client.get(reverse(EVENTS)).status_code == 302


def test_a_processed_delivery_shows_its_api_version_once_and_its_outcome_not_an_error(staff_client, client,
                                                                                      shopper, paying):
    hosted.pay(paying.stripe_session_id)
    post_event(client, stripe_event("checkout.session.completed", hosted.load_session(paying.stripe_session_id)))
    record = WebhookEvent.objects.get(status="processed")

    detail = staff_client.get(reverse("admin:checkout_webhookevent_change", args=[record.pk])).content.decode()

    assert detail.count("API version") == 1
    assert "Outcome" in detail and record.error in detail and "Error" not in detail


def test_sessions_and_orders_are_titled_by_the_shoppers_email(staff_client, shopper, paying):
    from orders.models import Order
    from tests.factories import OrderFactory
    order = OrderFactory(user=shopper)

    session_page = staff_client.get(reverse("admin:checkout_checkoutsession_change", args=[paying.pk])).content
    order_page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content
    sessions = staff_client.get(reverse(SESSIONS)).content.decode()

    assert str(paying) == f"Premium for {shopper.email} (active)"
    assert str(Order.objects.get(pk=order.pk)) == f"Order {order.short_id} for {shopper.email}"
    assert f"Premium for {shopper.email}".encode() in session_page
    assert f"Order {order.short_id} for {shopper.email}".encode() in order_page
    assert shopper.email in sessions and f">{shopper.pk}<" not in sessions
