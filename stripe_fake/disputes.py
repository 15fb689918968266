"""Disputes on the fake Stripe, opened and decided from the demo payment page (``views.hosted_checkout``), as a
cardholder's bank and Stripe would: a paid payment's charge is disputed (``charge.dispute.created``, status
``needs_response``, evidence due in a week), then the dispute is won or lost (``charge.dispute.closed``).

Disputes are built from ``STRIPE_EXAMPLE``, Stripe's own published example of the object (stripe/openapi,
openapi/fixtures3.json, commit f6c2a48f, MIT licence), with every field kept and ours plugged in: ids, amount,
currency, status, dates. One dispute per payment, as Stripe has one per charge.
"""

import copy
from datetime import UTC, datetime, timedelta

from django.db import transaction

from stripe_fake import store
from stripe_fake.events import emit, public
from stripe_fake.models import FakeStripeObject
from stripe_fake.refunds import charge_of

SESSION = "checkout.session"
INTENT = "payment_intent"
CHARGE = "charge"
DISPUTE = "dispute"
EVIDENCE_WINDOW = timedelta(days=7)
OPEN = {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}

STRIPE_EXAMPLE = {
    "amount": 1000,
    "balance_transactions": [],
    "charge": "ch_1PgafuB7WZ01zgkWXYmPNZs8",
    "created": 1234567890,
    "currency": "usd",
    "evidence": {
        "access_activity_log": None,
        "billing_address": None,
        "cancellation_policy": None,
        "cancellation_policy_disclosure": None,
        "cancellation_rebuttal": None,
        "customer_communication": None,
        "customer_email_address": None,
        "customer_name": None,
        "customer_purchase_ip": None,
        "customer_signature": None,
        "duplicate_charge_documentation": None,
        "duplicate_charge_explanation": None,
        "duplicate_charge_id": None,
        "product_description": None,
        "receipt": None,
        "refund_policy": None,
        "refund_policy_disclosure": None,
        "refund_refusal_explanation": None,
        "service_date": None,
        "service_documentation": None,
        "shipping_address": None,
        "shipping_carrier": None,
        "shipping_date": None,
        "shipping_documentation": None,
        "shipping_tracking_number": None,
        "uncategorized_file": None,
        "uncategorized_text": None,
        "enhanced_evidence": {}
    },
    "evidence_details": {
        "due_by": 1723679999,
        "has_evidence": False,
        "past_due": False,
        "submission_count": 0,
        "enhanced_eligibility": {}
    },
    "id": "dp_1Pgc71B7WZ01zgkWMevJiAUx",
    "is_charge_refundable": True,
    "livemode": False,
    "metadata": {},
    "object": "dispute",
    "payment_intent": None,
    "payment_method_details": {
        "card": {
            "brand": "visa",
            "case_type": "inquiry",
            "network_reason_code": "10.4",
            "network": "visa"
        },
        "type": "card"
    },
    "reason": "general",
    "status": "warning_needs_response",
    "enhanced_eligibility_types": [
        "visa_compelling_evidence_3"
    ]
}


class DisputeRefused(Exception):
    """What the demo page asked cannot happen to this payment; the message says why."""


def dispute_of(session_id: str, *, lock: bool = False) -> dict | None:
    rows = FakeStripeObject.objects.filter(kind=DISPUTE, data___session=session_id).order_by("created_at")
    if lock:
        rows = rows.select_for_update()
    row = rows.first()
    return row.data if row else None


def page_context(session_id: str) -> dict:
    """The session's dispute for the demo page, with its evidence deadline as a date."""
    dispute = dispute_of(session_id)
    due = dispute["evidence_details"]["due_by"] if dispute else None
    return {"dispute": dispute, "dispute_due": datetime.fromtimestamp(due, tz=UTC) if due else None}


def open_dispute(session_id: str, *, reason: str = "fraudulent") -> dict:
    """The cardholder's bank disputes the session's payment: a chargeback of what is left of it unrefunded."""
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        if session is None or (session["status"], session["payment_status"]) != ("complete", "paid"):
            raise DisputeRefused("Only a paid payment can be disputed.")
        if dispute_of(session_id) is not None:
            raise DisputeRefused("This payment is already disputed (Stripe has one dispute per charge).")
        intent = store.load(session["payment_intent"], kind=INTENT, lock=True)
        charge = charge_of(intent)
        amount = charge["amount"] - charge["amount_refunded"]
        if amount <= 0:
            raise DisputeRefused("This payment was refunded in full: there is nothing left to dispute.")
        charge["disputed"] = True
        store.save(charge, kind=CHARGE)
        now = store.unix_now()
        dispute = copy.deepcopy(STRIPE_EXAMPLE)
        dispute.update(id=store.new_id("dp_test_"), amount=amount, charge=charge["id"], created=now,
                       currency=charge["currency"], is_charge_refundable=False, payment_intent=intent["id"],
                       reason=reason, status="needs_response")
        dispute["evidence_details"].update(due_by=now + int(EVIDENCE_WINDOW.total_seconds()))
        dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
        dispute["_session"] = session_id
        store.insert(dispute, kind=DISPUTE)
        emit("charge.dispute.created", dispute, session=session)
        return public(dispute)


def close_dispute(session_id: str, *, won: bool) -> dict:
    """Stripe decides the session's open dispute, as if evidence had been submitted: won or lost."""
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        dispute = dispute_of(session_id, lock=True)
        if session is None or dispute is None or dispute["status"] not in OPEN:
            raise DisputeRefused("There is no open dispute of this payment to decide.")
        dispute["status"] = "won" if won else "lost"
        dispute["evidence_details"].update(has_evidence=True, submission_count=1)
        store.save(dispute, kind=DISPUTE)
        emit("charge.dispute.closed", dispute, session=session)
        return public(dispute)
