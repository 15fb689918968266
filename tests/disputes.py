"""Stripe's disputes as tests send them: Stripe's own example dispute (``stripe_fake.disputes.STRIPE_EXAMPLE``,
from fixtures3.json) with our payment's ids plugged in and every other field as Stripe sends it, wrapped in an
event as Stripe builds them."""

import copy

from stripe_fake.disputes import STRIPE_EXAMPLE
from tests.stripe_events import stripe_event

DUE_BY = 1_900_000_000  # 2030-03-17 17:46:40 UTC
OPENED = 1_800_000_000  # 2027-01-15 08:00:00 UTC


def dispute_object(*, payment_intent: str | None, amount: int, dispute_id: str = "dp_test_1",
                   status: str = "needs_response", reason: str = "fraudulent", currency: str = "usd",
                   charge: str = "ch_test_1", due_by: int | None = DUE_BY, created: int = OPENED) -> dict:
    dispute = copy.deepcopy(STRIPE_EXAMPLE)
    dispute.update(id=dispute_id, payment_intent=payment_intent, charge=charge, amount=amount, currency=currency,
                   status=status, reason=reason, created=created, is_charge_refundable=False)
    dispute["evidence_details"]["due_by"] = due_by
    return dispute


def dispute_event(event_type: str, **dispute) -> dict:
    """``charge.dispute.<event_type>`` (created, updated, closed, funds_withdrawn...) about one dispute."""
    return stripe_event(f"charge.dispute.{event_type}", dispute_object(**dispute))
