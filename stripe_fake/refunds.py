"""Refunds on the fake Stripe: ``POST /v1/refunds`` against a payment intent (or its charge), in full or in part.

As on Stripe, a refund moves the charge's cumulative ``amount_refunded`` and sends ``charge.refunded`` (the
charge as it now is) to the account's webhook endpoint after the change commits; a refund request replayed
with the same ``Idempotency-Key`` is answered from the stored result by ``api._idempotent`` and sends nothing
again. A payment's charge is made the first time something asks for it (the fake's payments never needed one
before), with the amount the payment intent received.
"""

from django.db import transaction

from stripe_fake import store
from stripe_fake.errors import invalid, missing
from stripe_fake.events import emit, public
from stripe_fake.models import FakeStripeObject

INTENT = "payment_intent"
CHARGE = "charge"
REFUND = "refund"
SESSION = "checkout.session"
REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


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
        refund = store.insert({
            "id": store.new_id("re_test_"), "object": "refund", "amount": amount, "charge": charge["id"],
            "currency": charge["currency"], "created": store.unix_now(), "metadata": params.get("metadata") or {},
            "payment_intent": intent_id, "reason": params.get("reason"), "status": "succeeded",
        }, kind=REFUND)
        session = _session_of(intent)
        if session is not None:
            emit("charge.refunded", charge, session=session)
        return public(refund)


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
