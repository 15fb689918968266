"""The shop's only door to Stripe: a few calls over stripe-python's ``StripeClient``.

The client's HTTP transport is ``settings.STRIPE_HTTP_CLIENT`` when set (the fake Stripe's, in demo mode and in
the tests), stripe-python's own ``RequestsClient`` otherwise; everything above the wire -- parameters, idempotency
keys, retries with backoff, response parsing, typed errors -- is stripe-python's.
Callers get plain frozen values back (``StripeCheckoutSession``), never stripe objects, so the webhook path
(JSON from an event) and the reconcile path (an API answer) feed the same code. Every Stripe failure becomes
``PaymentProviderError`` with a message fit for the shopper.
"""

import json
import logging
import math
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import stripe
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

STRIPE_MIN_LIFETIME = timedelta(minutes=30)  # Stripe refuses a Checkout Session expiring sooner than this...
STRIPE_MAX_LIFETIME = timedelta(hours=24)  # ...or later than this, counted from its creation.
_CLOCK_MARGIN = timedelta(minutes=1)

DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_TIMEOUT_SECONDS = 20
DEFAULT_WEB_MAX_NETWORK_RETRIES = 1
DEFAULT_WEB_TIMEOUT_SECONDS = 8


class PaymentProviderError(Exception):
    """Stripe did not do what we asked (or we cannot tell). ``user_message`` is fit for the shopper."""

    def __init__(self, user_message: str, *, retryable: bool = True, session_unusable: bool = False,
                 code: str = "", provider_message: str = ""):
        super().__init__(user_message)
        self.user_message = user_message
        self.retryable = retryable
        # Stripe refused the request itself (bad or reused parameters): repeating it cannot succeed.
        self.session_unusable = session_unusable
        # Stripe's own error code and message (``amount_too_large``...), for staff pages and logs.
        self.code = code
        self.provider_message = provider_message


@dataclass(frozen=True)
class StripeCheckoutSession:
    id: str
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    url: str
    payment_intent: str
    amount_total: int
    currency: str
    client_reference_id: str
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_data(cls, data) -> "StripeCheckoutSession":
        """From a stripe object or the ``data.object`` dict of an event."""
        data = data.to_dict() if hasattr(data, "to_dict") else dict(data)
        intent = data.get("payment_intent") or ""
        return cls(
            id=data["id"], status=data.get("status") or "", payment_status=data.get("payment_status") or "",
            url=data.get("url") or "", payment_intent=intent if isinstance(intent, str) else intent.get("id", ""),
            amount_total=int(data.get("amount_total") or 0), currency=data.get("currency") or "",
            client_reference_id=data.get("client_reference_id") or "", metadata=dict(data.get("metadata") or {}),
        )

    @property
    def checkout_session_id(self) -> str:
        """Our CheckoutSession's id, as we told Stripe when creating it."""
        return self.metadata.get("checkout_session_id") or self.client_reference_id


@dataclass(frozen=True)
class StripeRefund:
    """A refund as Stripe's API answers and its ``refund.*`` / ``charge.refund.updated`` events carry it. ``status``
    is Stripe's: pending, requires_action, succeeded, failed or canceled."""

    id: str
    amount: int
    currency: str
    status: str
    payment_intent: str
    charge: str = ""
    failure_reason: str = ""
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_data(cls, data) -> "StripeRefund":
        data = data.to_dict() if hasattr(data, "to_dict") else dict(data)
        return cls(id=str(data.get("id") or ""), amount=int(data.get("amount") or 0),
                   currency=str(data.get("currency") or ""), status=str(data.get("status") or ""),
                   payment_intent=_id_of(data.get("payment_intent")), charge=_id_of(data.get("charge")),
                   failure_reason=str(data.get("failure_reason") or ""),
                   metadata={str(key): str(value) for key, value in (data.get("metadata") or {}).items()})


def _id_of(value) -> str:
    """An id field that may come expanded (an object) or as its id."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _timestamp(value) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


@dataclass(frozen=True)
class StripeDispute:
    """A dispute as Stripe's events carry it (``data.object`` of ``charge.dispute.*``)."""

    id: str
    payment_intent: str
    charge: str
    amount: int
    currency: str
    reason: str
    status: str
    created: datetime | None
    evidence_due_by: datetime | None

    @classmethod
    def from_data(cls, data) -> "StripeDispute":
        data = data.to_dict() if hasattr(data, "to_dict") else dict(data)
        charge = data.get("charge")
        intent = _id_of(data.get("payment_intent"))
        if not intent and isinstance(charge, dict):
            intent = _id_of(charge.get("payment_intent"))
        amount = data.get("amount")
        evidence = data.get("evidence_details") if isinstance(data.get("evidence_details"), dict) else {}
        return cls(id=_id_of(data.get("id")), payment_intent=intent, charge=_id_of(charge),
                   amount=amount if isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0 else 0,
                   currency=str(data.get("currency") or "")[:3], reason=str(data.get("reason") or ""),
                   status=str(data.get("status") or ""), created=_timestamp(data.get("created")),
                   evidence_due_by=_timestamp(evidence.get("due_by")))


@dataclass(frozen=True)
class StripeCharge:
    """A charge as ``charge.refunded`` reports it: ``amount_refunded`` is what its pending and succeeded refunds add
    up to. ``refunds`` are its refunds when the charge carries them (API versions before 2022-11-15, or expanded)."""

    id: str
    payment_intent: str
    amount: int
    amount_refunded: int
    currency: str
    refunds: tuple[StripeRefund, ...] = ()

    @classmethod
    def from_data(cls, data) -> "StripeCharge":
        data = data.to_dict() if hasattr(data, "to_dict") else dict(data)
        listed = data.get("refunds") if isinstance(data.get("refunds"), dict) else {}
        refunds = tuple(StripeRefund.from_data(refund) for refund in listed.get("data") or ()
                        if isinstance(refund, dict) and refund.get("id"))
        return cls(id=str(data.get("id") or ""), payment_intent=_id_of(data.get("payment_intent")),
                   amount=int(data.get("amount") or 0), amount_refunded=int(data.get("amount_refunded") or 0),
                   currency=str(data.get("currency") or ""), refunds=refunds)


@dataclass(frozen=True)
class StripeBounds:
    """How long one call to Stripe may take at worst: every attempt may wait ``timeout_seconds`` (to connect,
    and again between bytes of the answer), and stripe-python sleeps between attempts (0.5 s, 1 s, 2 s... at most
    5 s each, jittered down, never below 0.5 s)."""

    timeout_seconds: int
    max_network_retries: int

    @property
    def worst_case_seconds(self) -> float:
        backoff = sum(max(0.5, min(0.5 * 2 ** (retry - 1), 5)) for retry in range(1, self.max_network_retries + 1))
        return self.timeout_seconds * (self.max_network_retries + 1) + backoff


def stripe_bounds() -> StripeBounds:
    """A Celery task may wait for Stripe (STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_NETWORK_RETRIES); anything else -- a
    web request, where a shopper and a gunicorn worker wait, and must be answered before gunicorn's timeout kills
    the worker -- gets the tighter STRIPE_WEB_TIMEOUT_SECONDS and STRIPE_WEB_MAX_NETWORK_RETRIES."""
    if _in_celery_task():
        return StripeBounds(getattr(settings, "STRIPE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
                            getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", DEFAULT_MAX_NETWORK_RETRIES))
    return StripeBounds(getattr(settings, "STRIPE_WEB_TIMEOUT_SECONDS", DEFAULT_WEB_TIMEOUT_SECONDS),
                        getattr(settings, "STRIPE_WEB_MAX_NETWORK_RETRIES", DEFAULT_WEB_MAX_NETWORK_RETRIES))


def _in_celery_task() -> bool:
    from celery import current_task

    return bool(current_task) and not current_task.request.called_directly


def stripe_client() -> stripe.StripeClient:
    bounds = stripe_bounds()
    return _client(getattr(settings, "STRIPE_HTTP_CLIENT", ""), settings.STRIPE_SECRET_KEY,
                   bounds.max_network_retries, bounds.timeout_seconds,
                   getattr(settings, "STRIPE_API_VERSION", "") or stripe.api_version,
                   getattr(settings, "STRIPE_API_BASE", ""))


@lru_cache(maxsize=4)
def _client(http_client_path: str, api_key: str, max_network_retries: int, timeout: int, api_version: str,
            api_base: str) -> stripe.StripeClient:
    if http_client_path:
        # Imported only when configured: with the real Stripe, the fake's code is never loaded.
        http_client = import_string(http_client_path)()
    else:
        http_client = stripe.RequestsClient(timeout=timeout)
    # ``stripe_version`` goes out as the Stripe-Version header of every call: answers are shaped as that version
    # says, whatever the account's default is. ``api_base`` is Stripe's own address unless a test serves the fake
    # Stripe over HTTP (STRIPE_API_BASE).
    # Retries reuse the request's idempotency key, so a retried create can never make a second session.
    return stripe.StripeClient(api_key, http_client=http_client, max_network_retries=max_network_retries,
                               stripe_version=api_version, base_addresses={"api": api_base} if api_base else {})


def stripe_expires_at(*, expires_at: datetime, created_at: datetime, now: datetime) -> int:
    """Our expiry, clamped into the window Stripe accepts for a session created ``now`` -- and the same on every
    call for the same session: the request's idempotency key is our session's id, and Stripe refuses a key sent
    again with other parameters, so a retry minutes later (after a timeout, from a second tab) must send the very
    same ``expires_at``. The 24-hour cap is therefore counted from our session's creation, never from ``now``
    (it is also within 24 hours of ``now``); only a session with less than Stripe's 30 minutes left gets a
    ``now``-dependent value, and the pay service does not send those to Stripe."""
    stable = min(expires_at, created_at + STRIPE_MAX_LIFETIME - _CLOCK_MARGIN)
    earliest = now + STRIPE_MIN_LIFETIME + _CLOCK_MARGIN
    latest = now + STRIPE_MAX_LIFETIME - _CLOCK_MARGIN
    return int(min(max(stable, earliest), latest).timestamp())


def checkout_session_create(*, session, success_url: str, cancel_url: str, now: datetime) -> StripeCheckoutSession:
    """Create the Stripe Checkout Session for our ``session``. Idempotent: the key is our session's id, so a
    repeat (a retry, a double click, a second tab) gets the same Stripe session back."""
    metadata = {"checkout_session_id": str(session.pk), "kind": session.kind, "user_id": str(session.user_id)}
    product = {"name": session.title, **({"description": session.description} if session.description else {})}
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": session.currency, "unit_amount": session.amount_cents, "product_data": product,
        }}],
        "client_reference_id": str(session.pk),
        "customer_email": session.user.email,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "expires_at": stripe_expires_at(expires_at=session.expires_at, created_at=session.created_at, now=now),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    with _translated_errors("create a Stripe Checkout Session"):
        created = stripe_client().v1.checkout.sessions.create(params, {"idempotency_key": str(session.pk)})
    return StripeCheckoutSession.from_data(created)


def checkout_session_retrieve(*, stripe_session_id: str) -> StripeCheckoutSession:
    with _translated_errors("retrieve a Stripe Checkout Session"):
        return StripeCheckoutSession.from_data(stripe_client().v1.checkout.sessions.retrieve(stripe_session_id))


def checkout_session_expire(*, stripe_session_id: str) -> StripeCheckoutSession:
    """Expire a Stripe session so it can no longer be paid. One that is already complete or expired is
    returned as it is: the goal (it cannot be paid from now on) is met or moot."""
    try:
        with _translated_errors("expire a Stripe Checkout Session"):
            expired = stripe_client().v1.checkout.sessions.expire(stripe_session_id)
    except PaymentProviderError as error:
        if not isinstance(error.__cause__, stripe.InvalidRequestError):
            raise
        current = checkout_session_retrieve(stripe_session_id=stripe_session_id)
        if current.status == "open":
            raise
        return current
    return StripeCheckoutSession.from_data(expired)


def refund_create(*, payment_intent_id: str, idempotency_key: str, amount_cents: int | None = None,
                  metadata: dict | None = None) -> StripeRefund:
    """Refund ``amount_cents`` of a payment (all that is left of it when None). The same ``idempotency_key``
    again returns the first refund instead of making a second one (Stripe keeps keys for 24 hours), so callers
    derive it from what they are refunding, not from the attempt."""
    params = {"payment_intent": payment_intent_id, "metadata": metadata or {}}
    if amount_cents is not None:
        params["amount"] = amount_cents
    with _translated_errors("refund a payment", nothing_done="Nothing was refunded"):
        refund = stripe_client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    answer = StripeRefund.from_data(refund)
    return answer if answer.payment_intent else replace(answer, payment_intent=payment_intent_id)


def stripe_objects_created(*, resource: str, since: datetime, until: datetime) -> list:
    """Every object of ``resource`` ("checkout_sessions", "charges", "refunds", "disputes") that Stripe created in
    [since, until), newest first, as the plain values above; stripe-python pages through the list (100 a page).
    Raises ``PaymentProviderError``."""
    services = {"checkout_sessions": lambda client: client.v1.checkout.sessions,
                "charges": lambda client: client.v1.charges, "refunds": lambda client: client.v1.refunds,
                "disputes": lambda client: client.v1.disputes}
    values = {"checkout_sessions": StripeCheckoutSession, "charges": StripeCharge, "refunds": StripeRefund,
              "disputes": StripeDispute}
    # Stripe's timestamps are whole seconds: the window is widened to the seconds it touches (reading twice is
    # harmless), so that an object made in the window's last second is not left out.
    params = {"created": {"gte": math.floor(since.timestamp()), "lt": math.ceil(until.timestamp())}, "limit": 100}
    with _translated_errors(f"list Stripe's {resource.replace('_', ' ')}", nothing_done="Nothing was changed"):
        page = services[resource](stripe_client()).list(params)
        return [values[resource].from_data(item) for item in page.auto_paging_iter()]


def webhook_payload_verify(*, payload: bytes, signature: str | None) -> dict:
    """Verify a delivery the way Stripe documents it (stripe-python's ``WebhookSignature.verify_header``:
    HMAC-SHA256 of the body with our endpoint secret, timestamp within five minutes -- in the past, and in the
    future too, which the library does not check) and return the body parsed
    as plain JSON. Raises ``stripe.SignatureVerificationError``; ``ValueError`` for a body that is not UTF-8 or
    not JSON.

    The body is parsed here rather than through the library's ``Event``: its ``to_dict()`` turns Stripe's
    decimal strings (``fx_rate``, ``unit_amount_decimal``...) into ``Decimal``, which no JSON column stores. The
    shop keeps and processes exactly what Stripe sent (but for U+0000, see ``_without_nul``), and the reconcile
    path hands over the same dict shape."""
    text = payload.decode("utf-8")
    stripe.WebhookSignature.verify_header(text, signature, settings.STRIPE_WEBHOOK_SECRET,
                                          stripe.Webhook.DEFAULT_TOLERANCE)
    _refuse_future_timestamp(text, signature)
    event = json.loads(text, parse_constant=_not_json)
    return _without_nul(event) if "\\u0000" in text else event


def _refuse_future_timestamp(text: str, signature: str) -> None:
    """stripe-python only refuses timestamps older than the tolerance. One further ahead than that is no more
    Stripe's than a stale one (Stripe signs as it sends): accepting it would let a captured delivery, signed
    with a clock set forward, be replayed for that long."""
    stamps = [part.split("=", 1)[1] for part in signature.split(",") if part.strip().startswith("t=")]
    timestamp = int(stamps[0]) if stamps and stamps[0].strip().isdigit() else 0
    if timestamp > time.time() + stripe.Webhook.DEFAULT_TOLERANCE:
        raise stripe.SignatureVerificationError("Timestamp is in the future, beyond the tolerance zone",
                                                signature, text)


def _not_json(constant: str):
    """``NaN`` and ``Infinity`` are Python's extensions, not JSON: PostgreSQL's jsonb would refuse them."""
    raise ValueError(f"{constant} is not JSON")


def _without_nul(value):
    """JSON allows U+0000 in strings (a shopper may type one into a form); PostgreSQL's jsonb cannot store it,
    so it is kept as U+FFFD, the replacement character, rather than losing the event."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


class _translated_errors:
    """``with _translated_errors("do X"):`` turns stripe errors into ``PaymentProviderError``, logging why."""

    def __init__(self, action: str, *, nothing_done: str = "Nothing was charged"):
        self.action = action
        self.nothing_done = nothing_done

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or not isinstance(error, stripe.StripeError):
            return False
        nothing = self.nothing_done
        if isinstance(error, stripe.APIConnectionError):
            message, retryable = (f"We could not reach our payment provider. {nothing}; "
                                  "please try again in a moment."), True
        elif isinstance(error, stripe.RateLimitError) or (error.http_status or 0) >= 500:
            message, retryable = (f"Our payment provider is having trouble right now. {nothing}; "
                                  "please try again in a moment."), True
        elif isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
            message, retryable = f"Card payments are unavailable right now. {nothing}.", False
        else:
            message, retryable = (f"Our payment provider refused the request. {nothing}; please try "
                                  "again, and tell us if it keeps happening."), True
        unusable = isinstance(error, (stripe.InvalidRequestError, stripe.IdempotencyError))
        log = logger.warning if retryable and not unusable else logger.error
        log("Stripe failed to %s: %s (%s, HTTP %s, request %s)", self.action, error.user_message or error,
            type(error).__name__, error.http_status, error.request_id)
        raise PaymentProviderError(message, retryable=retryable, session_unusable=unusable, code=error.code or "",
                                   provider_message=error.user_message or str(error)) from error


def stripe_dashboard_url(path: str) -> str:
    """A page of Stripe's dashboard for this account's mode: test-mode objects (keys ``sk_test_``/``rk_test_``, and
    the demo) live under ``/test/``, where a link without it finds nothing."""
    test_mode = not settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
    return f"https://dashboard.stripe.com/{'test/' if test_mode else ''}{path}"
