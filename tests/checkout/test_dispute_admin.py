"""Staff's view of disputes: read-only mirrors of Stripe, most urgent first, filtered by status, linked to what was
sold and to Stripe's dashboard where they are answered."""

import pytest
from django.urls import reverse
from django.utils import timezone

from checkout.models import Dispute
from tests.disputes import DUE_BY, dispute_event
from tests.factories import CheckoutSessionFactory, OrderFactory
from tests.stripe_events import post_event

DISPUTES = "admin:checkout_dispute_changelist"


def _paid(number: int, **extra):
    return CheckoutSessionFactory(status="completed", completed_at=timezone.now(),
                                  stripe_session_id=f"cs_admin_{number}", stripe_payment_intent_id=f"pi_admin_{number}",
                                  **extra)


def _dispute(client, session, dispute_id: str, *, status: str = "needs_response", due_by: int = DUE_BY):
    kind = "closed" if status in ("won", "lost") else "created"
    event = dispute_event(kind, dispute_id=dispute_id, payment_intent=session.stripe_payment_intent_id,
                          amount=session.amount_cents, status=status, due_by=due_by)
    assert post_event(client, event).json()["status"] == "processed"
    return Dispute.objects.get(stripe_dispute_id=dispute_id)


@pytest.fixture
def three(staff_client):
    """Two open disputes (the later deadline first in time) and a lost one."""
    return [_dispute(staff_client, _paid(0), "dp_test_later", due_by=DUE_BY + 86_400),
            _dispute(staff_client, _paid(1), "dp_test_sooner", due_by=DUE_BY),
            _dispute(staff_client, _paid(2), "dp_test_lost", status="lost")]


def _listed(response) -> list[str]:
    content = response.content.decode()
    ids = ("dp_test_sooner", "dp_test_later", "dp_test_lost")
    return sorted((dispute_id for dispute_id in ids if dispute_id in content), key=content.index)


def test_open_disputes_are_listed_first_soonest_evidence_deadline_first(staff_client, three,
                                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = staff_client.get(reverse(DISPUTES))

    assert response.status_code == 200
    assert _listed(response) == ["dp_test_sooner", "dp_test_later", "dp_test_lost"]
    by_due_date_descending = staff_client.get(reverse(DISPUTES), {"o": "-5"})  # the evidence_due_by column
    assert _listed(by_due_date_descending)[:2] == ["dp_test_later", "dp_test_sooner"]


@pytest.mark.parametrize("query, listed", [
    ({"state": "open"}, ["dp_test_sooner", "dp_test_later"]),
    ({"state": "closed"}, ["dp_test_lost"]),
    ({"status__exact": "lost"}, ["dp_test_lost"]),
    ({"outcome__exact": "lost"}, ["dp_test_lost"]),
    ({"q": "dp_test_sooner"}, ["dp_test_sooner"]),
])
def test_disputes_filter_by_status_and_state(staff_client, three, query, listed):
    assert _listed(staff_client.get(reverse(DISPUTES), query)) == listed


def test_a_dispute_links_to_what_was_sold_and_to_stripe_and_shows_its_history(staff_client, three):
    dispute = three[1]

    page = staff_client.get(reverse("admin:checkout_dispute_change", args=[dispute.pk])).content.decode()

    assert reverse("admin:wallet_pointspurchase_change", args=[dispute.session_id]) in page
    assert reverse("admin:checkout_checkoutsession_change", args=[dispute.session_id]) in page
    assert "https://dashboard.stripe.com/test/disputes/dp_test_sooner" in page
    assert "needs_response" in page and "no points were credited for it" in page


def test_a_card_orders_dispute_links_to_the_order(staff_client):
    session = _paid(5, kind="cart", package=None, title="Order", amount_cents=3999, currency="usd")
    order = OrderFactory(user=session.user, checkout_session=session, stripe_payment_intent_id="pi_admin_5")
    dispute = _dispute(staff_client, session, "dp_test_order")

    page = staff_client.get(reverse("admin:checkout_dispute_change", args=[dispute.pk])).content.decode()

    assert reverse("admin:orders_order_change", args=[order.pk]) in page
    assert f"order {order.short_id} disputed: downloads suspended" in page


def test_disputes_are_read_only(staff_client, three):
    dispute = three[0]
    url = reverse("admin:checkout_dispute_change", args=[dispute.pk])

    staff_client.post(url, {"status": "won", "outcome": "won"})

    assert staff_client.get(reverse("admin:checkout_dispute_add")).status_code == 403
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome) == ("needs_response", "")


@pytest.mark.parametrize("key, url", [
    ("sk_test_abc", "https://dashboard.stripe.com/test/disputes/dp_1"),
    ("rk_test_abc", "https://dashboard.stripe.com/test/disputes/dp_1"),
    ("sk_live_abc", "https://dashboard.stripe.com/disputes/dp_1"),
    ("rk_live_abc", "https://dashboard.stripe.com/disputes/dp_1"),
])
def test_links_to_stripes_dashboard_follow_the_keys_mode(settings, key, url):
    from checkout.gateway import stripe_dashboard_url
    settings.STRIPE_SECRET_KEY = key

    assert stripe_dashboard_url("disputes/dp_1") == url
