"""Refunds on the fake Stripe: ``POST /v1/refunds`` against a payment intent (or its charge), in full or in part.

As on Stripe, a refund starts ``pending``: it moves the charge's cumulative ``amount_refunded`` at once and sends
``refund.created`` and ``charge.refunded``; then it settles -- ``succeeded``, or ``failed`` (the charge's
``amount_refunded`` goes back down) or ``canceled`` -- and sends ``refund.updated`` and ``charge.refund.updated``
(plus ``refund.failed`` when it failed). A succeeded refund can still fail later (the bank returned it). Events
are delivered after the change commits; a refund request replayed with the same ``Idempotency-Key`` is answered
from the stored result by ``api._idempotent`` and sends nothing again.

How a refund settles, deterministically: right after the transaction that created it commits (so in tests whose
on-commit callbacks do not run, it stays pending until the test settles it), as its payment's *refund outcome*
says -- ``succeeded`` unless ``refund_outcome_set`` (tests) or the demo payment page chose ``failed`` (like
Stripe's test card 4000 0000 0000 5126, whose refunds fail) or ``pending`` (stays pending until someone settles
it). ``refund_settle`` moves one refund on demand: the demo page's Succeed / Fail / Cancel buttons, and tests.

A payment's charge is made the first time something asks for it (the fake's payments never needed one before),
with the amount the payment intent received.
"""

from functools import partial

from django.db import transaction

from stripe_fake import store
from stripe_fake.errors import invalid, missing
from stripe_fake.events import emit, public
from stripe_fake.models import FakeStripeObject
from stripe_fake.shapes import payment_method_of

INTENT = "payment_intent"
CHARGE = "charge"
REFUND = "refund"
SESSION = "checkout.session"
REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
OUTCOMES = ("succeeded", "failed", "pending")
FAILURE_REASON = "expired_or_canceled_card"
# Where a refund may go from each status; "failed" after "succeeded" is the bank returning the money.
SETTLES = {"pending": {"succeeded", "failed", "canceled"}, "succeeded": {"failed"}}


class RefundNotSettleable(Exception):
    def __init__(self, refund_id: str, status: str, outcome: str):
        super().__init__(f"Refund {refund_id} is {status}: it cannot become {outcome}")


def create_refund(params: dict) -> dict:
    intent_id, charge_id = params.get("payment_intent"), params.get("charge")
    if not intent_id and not charge_id:
        raise invalid("One of `charge` or `payment_intent` is required.", param="payment_intent")
    if params.get("reason") and params["reason"] not in REASONS:
        raise invalid(f"Invalid reason: must be one of {', '.join(sorted(REASONS))}", param="reason")
    with transaction.atomic():
        if not intent_id:
            charge = store.load(charge_id, kind=CHARGE)
            if charge is None:
                raise missing("charge", charge_id, param="charge")
            intent_id = charge["payment_intent"]
        intent = store.load(intent_id, kind=INTENT, lock=True)  # refunds of one payment queue up here
        if intent is None:
            raise missing("payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded":
            raise invalid(f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                          code="charge_not_refundable")
        charge = charge_of(intent)
        if FakeStripeObject.objects.filter(kind="dispute", data__charge=charge["id"]).exclude(
                data__status__in=["won", "warning_closed", "prevented"]).exists():
            raise invalid(f"Charge {charge['id']} has been charged back; it cannot be refunded.",
                          code="charge_disputed")
        refundable = charge["amount"] - charge["amount_refunded"]
        if refundable <= 0:
            raise invalid(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = _amount(params.get("amount"), default=refundable)
        if amount > refundable:
            raise invalid(f"Refund amount ({_major_units(amount)}) is greater than unrefunded amount on charge "
                          f"({_major_units(refundable)})", code="amount_too_large", param="amount")
        charge.update(amount_refunded=charge["amount_refunded"] + amount,
                      refunded=charge["amount_refunded"] + amount == charge["amount"])
        store.save(charge, kind=CHARGE)
        refund = store.insert(_new_refund(charge, intent_id, amount=amount, metadata=params.get("metadata") or {},
                                          reason=params.get("reason")), kind=REFUND)
        _emit(intent, ("refund.created", refund), ("charge.refunded", charge))
        transaction.on_commit(partial(_settle_after_commit, refund["id"]), robust=True)
        return public(refund)


def _new_refund(charge: dict, intent_id: str, *, amount: int, metadata: dict, reason) -> dict:
    """A refund object with the fields (and field types) of Stripe's published example."""
    return {
        "id": store.new_id("re_test_"), "object": "refund", "amount": amount,
        "balance_transaction": store.new_id("txn_test_"), "charge": charge["id"], "created": store.unix_now(),
        "currency": charge["currency"], "customer": None, "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"}, "metadata": metadata,
        "payment_intent": intent_id, "payment_method": payment_method_of(intent_id), "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None, "status": "pending", "transfer_reversal": None,
    }


def refund_outcome_set(intent_id: str, outcome: str) -> None:
    """How the refunds of ``intent_id`` made from now on settle after their creation commits: ``succeeded`` (the
    default), ``failed`` or ``pending`` (until ``refund_settle``)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown refund outcome {outcome!r}; one of {OUTCOMES}")
    with transaction.atomic():
        intent = store.load(intent_id, kind=INTENT, lock=True)
        if intent is None:
            raise LookupError(f"no payment intent {intent_id}")
        intent["_refund_outcome"] = outcome
        store.save(intent, kind=INTENT)


def _settle_after_commit(refund_id: str) -> None:
    refund = store.load(refund_id, kind=REFUND)
    intent = store.load(refund["payment_intent"], kind=INTENT) if refund else None
    outcome = (intent or {}).get("_refund_outcome") or "succeeded"
    if refund is None or refund["status"] != "pending" or outcome == "pending":
        return
    try:
        refund_settle(refund_id, outcome)
    except RefundNotSettleable:  # settled meanwhile (the demo page, a test)
        pass


def refund_settle(refund_id: str, outcome: str, *, failure_reason: str = FAILURE_REASON) -> dict:
    """Settle a refund as Stripe would: pending -> succeeded, failed or canceled; succeeded -> failed. A refund
    that fails or is canceled gives its amount back to the charge. Raises ``RefundNotSettleable`` otherwise."""
    with transaction.atomic():
        found = store.load(refund_id, kind=REFUND)
        if found is None:
            raise RefundNotSettleable(refund_id, "missing", outcome)
        intent = store.load(found["payment_intent"], kind=INTENT, lock=True)  # the order create_refund locks in
        refund = store.load(refund_id, kind=REFUND, lock=True)
        if outcome not in SETTLES.get(refund["status"], ()):
            raise RefundNotSettleable(refund_id, refund["status"], outcome)
        refund["status"] = outcome
        charge = store.load(refund["charge"], kind=CHARGE, lock=True)
        if outcome in ("failed", "canceled"):
            charge.update(amount_refunded=charge["amount_refunded"] - refund["amount"], refunded=False)
            store.save(charge, kind=CHARGE)
        if outcome == "failed":
            refund.update(failure_reason=failure_reason, failure_balance_transaction=store.new_id("txn_test_"))
        store.save(refund, kind=REFUND)
        events = [("refund.updated", refund), ("charge.refund.updated", refund)]
        if outcome == "failed":
            events.append(("refund.failed", refund))
        _emit(intent, *events)
        return public(refund)


def refunds_of(intent_id: str | None) -> list[dict]:
    """The refunds of a payment, oldest first (the demo payment page lists them)."""
    if not intent_id:
        return []
    rows = FakeStripeObject.objects.filter(kind=REFUND, data__payment_intent=intent_id).order_by("created_at")
    return [row.data for row in rows]


def _emit(intent: dict, *events: tuple[str, dict]) -> None:
    session = _session_of(intent)
    if session is not None:
        for event_type, obj in events:
            emit(event_type, obj, session=session)


def charge_of(intent: dict) -> dict:
    """The succeeded payment intent's charge (``intent`` is locked by the caller), made on first use."""
    charge = store.load(intent["latest_charge"], kind=CHARGE) if intent.get("latest_charge") else None
    if charge is not None:
        return charge
    charge = store.insert({
        "id": store.new_id("ch_test_"), "object": "charge", "amount": intent["amount_received"],
        "amount_captured": intent["amount_received"], "amount_refunded": 0, "captured": True,
        "currency": intent["currency"], "created": intent["created"], "livemode": False,
        "metadata": intent.get("metadata") or {}, "paid": True, "payment_intent": intent["id"], "refunded": False,
        "status": "succeeded",
    }, kind=CHARGE)
    intent["latest_charge"] = charge["id"]
    store.save(intent, kind=INTENT)
    return charge


def _major_units(cents: int) -> str:
    """Stripe writes amounts in its refusals as major units: 1999 -> "$19.99"."""
    return f"${cents // 100}.{cents % 100:02d}"


def _amount(value, *, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        amount = int(value)
    except (TypeError, ValueError):
        raise invalid("Invalid integer: " + str(value), param="amount") from None
    if amount < 1:
        raise invalid("This value must be greater than or equal to 1.", param="amount")
    return amount


def _session_of(intent: dict) -> dict | None:
    """The checkout session that made ``intent``, whose hosted page lists the refund's event."""
    if intent.get("_session"):
        return store.load(intent["_session"], kind=SESSION)
    row = FakeStripeObject.objects.filter(kind=SESSION, data__payment_intent=intent["id"]).first()
    return row.data if row else None
