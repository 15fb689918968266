"""The Stripe endpoints the shop calls (Checkout Sessions here, refunds in ``refunds``), answered from the
database the way Stripe answers them.

Every handler returns ``(status, body)``; 4xx answers are raised as ``StripeAPIFailure``. As on Stripe, a
parameter the endpoint does not know is refused first (``parameters``), and idempotency works like Stripe's: a
POST's result is stored under its ``Idempotency-Key`` and replayed for a repeat of that key within 24 hours (a
key older than that starts a new request); the same key with different parameters is an ``idempotency_error``;
a concurrent duplicate waits for the first one (the key's row is inserted first, so the database serialises
them) and then gets its result.
"""

import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.urls import reverse

from stripe_fake import hosted, store
from stripe_fake.errors import StripeAPIFailure, invalid, missing
from stripe_fake.events import public
from stripe_fake.lists import ENDPOINTS as LISTS
from stripe_fake.lists import list_objects
from stripe_fake.models import FakeStripeObject
from stripe_fake.parameters import refuse_unknown_parameters
from stripe_fake.refunds import create_refund

SESSION = "checkout.session"
MIN_LIFETIME_SECONDS = 30 * 60
MAX_LIFETIME_SECONDS = 24 * 60 * 60
IDEMPOTENCY_KEY_LIFETIME_SECONDS = 24 * 60 * 60

_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>[A-Za-z0-9_]+)(?P<expire>/expire)?$")


def handle(method: str, path: str, params: dict, *, idempotency_key: str | None) -> tuple[int, dict]:
    try:
        # As on Stripe, before anything is done or kept under the idempotency key: a corrected retry with the
        # same key is a new request.
        refuse_unknown_parameters(method, path, params)
    except StripeAPIFailure as failure:
        return failure.status, failure.body
    if method == "post" and idempotency_key:
        return _idempotent(method, path, params, idempotency_key)
    return _answer(method, path, params)


def _answer(method: str, path: str, params: dict) -> tuple[int, dict]:
    try:
        return 200, _route(method, path, params)
    except StripeAPIFailure as failure:
        return failure.status, failure.body


def _route(method: str, path: str, params: dict) -> dict:
    if path == "/v1/checkout/sessions" and method == "post":
        return create_session(params)
    if path == "/v1/refunds" and method == "post":
        return create_refund(params)
    if path in LISTS and method == "get":
        return list_objects(path, params)
    match = _SESSION_PATH.match(path)
    if match and method == "get" and not match["expire"]:
        return retrieve_session(match["id"])
    if match and method == "post" and match["expire"]:
        return expire_session(match["id"])
    raise StripeAPIFailure(404, f"Unrecognized request URL ({method.upper()}: {path}).")


def _idempotent(method: str, path: str, params: dict, key: str) -> tuple[int, dict]:
    fingerprint = hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()
    record_id = "idem_" + hashlib.sha256(key.encode()).hexdigest()
    now = store.unix_now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                FakeStripeObject.objects.create(pk=record_id, kind="idempotency",
                                                data={"fingerprint": fingerprint, "created": now})
        except IntegrityError:
            # Locked: a concurrent first request with this key is waited for, and its answer is the one found.
            record = FakeStripeObject.objects.select_for_update().get(pk=record_id).data
            if now - record.get("created", 0) < IDEMPOTENCY_KEY_LIFETIME_SECONDS:
                if record["fingerprint"] != fingerprint:
                    return 400, StripeAPIFailure(
                        400, "Keys for idempotent requests can only be used with the same parameters they were "
                             f"first used with. Try using a key other than '{key}' if you meant to execute a "
                             "different request.", type="idempotency_error").body
                return record["status"], record["body"]
            # Stripe prunes keys once they are 24 hours old: the same key now makes a new request.
        status, body = _answer(method, path, params)
        FakeStripeObject.objects.filter(pk=record_id).update(
            data={"fingerprint": fingerprint, "created": now, "status": status, "body": body})
    return status, body


# --- Checkout Sessions ----------------------------------------------------------------------------------------

def create_session(params: dict) -> dict:
    now = store.unix_now()
    if params.get("mode") != "payment":
        raise invalid("This fake Stripe supports mode=payment only.", param="mode")
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        raise invalid("line_items is required in payment mode.", param="line_items")
    currency, total, lines = None, 0, []
    for index, item in enumerate(items):
        price = item.get("price_data") or {}
        name = (price.get("product_data") or {}).get("name")
        try:
            unit_amount, quantity = int(price.get("unit_amount")), int(item.get("quantity", 1))
        except (TypeError, ValueError):
            raise invalid("Invalid integer.", param=f"line_items[{index}][price_data][unit_amount]") from None
        if not name or unit_amount < 0 or quantity < 1 or len(price.get("currency") or "") != 3:
            raise invalid("Each line item needs price_data with currency, unit_amount, product_data[name].",
                          param=f"line_items[{index}]")
        if currency not in (None, price["currency"].lower()):
            raise invalid("All line items must use the same currency.", param="line_items")
        currency = price["currency"].lower()
        total += unit_amount * quantity
        lines.append({"name": name, "description": (price.get("product_data") or {}).get("description", ""),
                      "unit_amount": unit_amount, "quantity": quantity})
    if not params.get("success_url"):
        raise invalid("success_url is required for hosted Checkout.", param="success_url")
    expires_at = int(params.get("expires_at") or now + MAX_LIFETIME_SECONDS)
    if expires_at < now + MIN_LIFETIME_SECONDS:
        raise invalid("The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                      param="expires_at")
    if expires_at > now + MAX_LIFETIME_SECONDS:
        raise invalid("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                      param="expires_at")
    session_id = store.new_id("cs_test_", 58)
    session = {
        "id": session_id, "object": SESSION, "amount_subtotal": total, "amount_total": total,
        "cancel_url": params.get("cancel_url"), "client_reference_id": params.get("client_reference_id"),
        "created": now, "currency": currency, "customer": None, "customer_email": params.get("customer_email"),
        "expires_at": expires_at, "livemode": False, "metadata": params.get("metadata") or {}, "mode": "payment",
        "payment_intent": None, "payment_method_types": ["card"], "payment_status": "unpaid", "status": "open",
        "success_url": params["success_url"], "ui_mode": "hosted_page",
        "url": _origin(params["success_url"]) + reverse("stripe_fake:hosted", args=[session_id]),
        "_line_items": lines,
        "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
    }
    return public(store.insert(session, kind=SESSION))


def retrieve_session(session_id: str) -> dict:
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        if session is None:
            raise missing("checkout.session", session_id, param="session")
        return public(hosted.expire_if_due(session))


def expire_session(session_id: str) -> dict:
    with transaction.atomic():
        session = store.load(session_id, kind=SESSION, lock=True)
        if session is None:
            raise missing("checkout.session", session_id, param="session")
        session = hosted.expire_if_due(session)
        if session["status"] != "open":
            raise invalid('Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                          f'Session has a status of {session["status"]}.', code="checkout_session_not_open")
        return public(hosted.expire(session))


def _origin(url: str) -> str:
    """The hosted page is served on the origin the shopper is browsing (their success_url's): the page is a
    stand-in for Stripe's, reached by the shopper's browser, which may use another host name than SITE_URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
