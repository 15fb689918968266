"""What happens on the fake's hosted checkout page, and the events each outcome sends (as Stripe would).

Pay            -> session complete + paid, PaymentIntent succeeded   -> checkout.session.completed
Decline        -> PaymentIntent requires_payment_method, session stays open -> payment_intent.payment_failed
Pay later      -> session complete + unpaid (a bank debit), PaymentIntent processing -> checkout.session.completed
  then Settle  -> paid                                                -> checkout.session.async_payment_succeeded
  or Bounce    -> still unpaid, PaymentIntent failed                  -> checkout.session.async_payment_failed
An open session past its expires_at, or expired through the API      -> checkout.session.expired

Each function locks the session's row, so two clicks (or a click and an API call) never both win.
"""

from django.db import transaction

from stripe_fake import store
from stripe_fake.events import emit
from stripe_fake.refunds import charge_of

SESSION = "checkout.session"
INTENT = "payment_intent"
DECLINE_MESSAGE = "Your card was declined."
BOUNCE_MESSAGE = "The bank debit was refused by the customer's bank."


class SessionNotOpen(Exception):
    def __init__(self, session: dict):
        super().__init__(f"Checkout session {session['id']} is {session['status']}")
        self.session = session


def load_session(session_id: str) -> dict | None:
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        return expire_if_due(session) if session else None


def expire_if_due(session: dict) -> dict:
    if session["status"] == "open" and session["expires_at"] <= store.unix_now():
        return expire(session)
    return session


def expire(session: dict) -> dict:
    session.update(status="expired", url=None)
    store.save(session, kind=SESSION)
    emit("checkout.session.expired", session, session=session)
    return session


def pay(session_id: str) -> dict:
    with transaction.atomic():
        session = _open_session(session_id)
        intent = _intent_for(session, status="succeeded")
        charge_of(intent)  # as on Stripe, a successful payment has its charge from the start (listed, refundable)
        session.update(status="complete", payment_status="paid", url=None, payment_intent=intent["id"])
        store.save(session, kind=SESSION)
        emit("checkout.session.completed", session, session=session)
        return session


def decline(session_id: str) -> dict:
    with transaction.atomic():
        session = _open_session(session_id)
        intent = _intent_for(session, status="requires_payment_method", error={
            "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
            "message": DECLINE_MESSAGE})
        emit("payment_intent.payment_failed", intent, session=session)
        return session


def pay_later(session_id: str) -> dict:
    with transaction.atomic():
        session = _open_session(session_id)
        intent = _intent_for(session, status="processing")
        session.update(status="complete", payment_status="unpaid", url=None, payment_intent=intent["id"])
        store.save(session, kind=SESSION)
        emit("checkout.session.completed", session, session=session)
        return session


def settle(session_id: str, *, succeeded: bool) -> dict:
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        if session is None or session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise SessionNotOpen(session or {"id": session_id, "status": "missing"})
        intent = store.load(session["payment_intent"], kind=INTENT, lock=True)
        if intent["status"] != "processing":
            raise SessionNotOpen(session)
        if succeeded:
            intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            session["payment_status"] = "paid"
            charge_of(intent)
        else:
            intent.update(status="requires_payment_method", last_payment_error={
                "type": "invalid_request_error", "code": "payment_method_provider_decline", "message": BOUNCE_MESSAGE})
        store.save(intent, kind=INTENT)
        store.save(session, kind=SESSION)
        outcome = "succeeded" if succeeded else "failed"
        emit(f"checkout.session.async_payment_{outcome}", session, session=session)
        return session


def _open_session(session_id: str) -> dict:
    session = store.load(session_id, kind=SESSION, lock=True)
    if session is None:
        raise SessionNotOpen({"id": session_id, "status": "missing"})
    session = expire_if_due(session)
    if session["status"] != "open":
        raise SessionNotOpen(session)
    return session


def _intent_for(session: dict, *, status: str, error: dict | None = None) -> dict:
    """The session's PaymentIntent, created on the first attempt to pay and reused by the next ones."""
    intent = store.load(session["payment_intent"], kind=INTENT, lock=True) if session["payment_intent"] else None
    if intent is None:
        intent = store.insert({
            "id": store.new_id("pi_test_"), "object": "payment_intent", "amount": session["amount_total"],
            "amount_received": 0, "currency": session["currency"], "created": store.unix_now(),
            "metadata": session.get("_payment_intent_metadata") or {}, "status": status,
            "last_payment_error": None, "latest_charge": None, "_session": session["id"],
        }, kind=INTENT)
        session["payment_intent"] = intent["id"]
        store.save(session, kind=SESSION)
    intent.update(status=status, last_payment_error=error,
                  amount_received=intent["amount"] if status == "succeeded" else 0)
    return store.save(intent, kind=INTENT)
