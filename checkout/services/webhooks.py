"""Receiving Stripe's webhook deliveries: verify, store once per event id, process in one transaction.

A delivery whose event id was already processed (or deliberately ignored) is answered from the stored record
and changes nothing. Processing runs in one transaction; if it fails, the record says so (``failed``, the
error, one more attempt) and the caller answers 500, so Stripe delivers it again -- or staff re-process it
from the admin. Events that are not about any session or order of ours are stored as ``ignored``; a payment for a
session of ours that no longer exists is stored as ``attention`` (``services.orphans``).

``charge.refunded``, ``refund.*`` and ``charge.refund.updated`` (a refund of a card order or of a points package,
asked by the shop or made in Stripe's Dashboard) go to ``services.refund_lifecycle``.
Every ``charge.dispute.*`` goes to ``services.disputes``.
"""

import logging
from datetime import datetime

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from checkout import gateway
from checkout.gateway import StripeCharge, StripeCheckoutSession, StripeRefund
from checkout.models import WebhookEvent
from checkout.services.fulfilment import (
    Outcome,
    checkout_session_async_payment_failed,
    checkout_session_payment_failed,
    checkout_session_sync,
)
from checkout.services.disputes import DisputeOutcome, StripeDispute, dispute_apply
from checkout.services.orphans import stripe_payment_without_session
from checkout.services.refund_lifecycle import RefundOutcome, charge_refunded_apply, stripe_refund_apply
from ops.prepared import PreparedQuery

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000


class InvalidWebhook(Exception):
    """Not a genuine, well-formed Stripe event: answer 400."""


class WebhookProcessingFailed(Exception):
    """A genuine event whose processing failed and was rolled back: answer 500 so that Stripe retries."""


def stripe_webhook_verify(*, payload: bytes, signature: str | None) -> dict:
    """The event in ``payload`` if ``signature`` proves Stripe sent it within five minutes of now (either way)."""
    try:
        event = gateway.webhook_payload_verify(payload=payload, signature=signature)
    except stripe.SignatureVerificationError as error:
        raise InvalidWebhook(f"bad signature: {error.user_message or error}") from error
    except (ValueError, TypeError, AttributeError) as error:  # not UTF-8, not JSON, not a JSON object
        raise InvalidWebhook(f"not a Stripe event: {type(error).__name__}") from error
    # ``object: event`` also refuses thin event notifications (``v2.core.event``), which carry no object to apply.
    if not (isinstance(event, dict) and event.get("object") == "event" and isinstance(event.get("id"), str)
            and event["id"].startswith("evt_")
            and isinstance(event.get("type"), str) and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict)):
        raise InvalidWebhook("not a Stripe event: missing id, type or data.object")
    return event


def stripe_webhook_receive(*, event: dict, now: datetime | None = None) -> WebhookEvent:
    """Store ``event`` (once) and process it unless that was done before. Returns the stored record.

    A replay of a processed event costs one SELECT. A new event is stored with its likely outcome and processed in
    one transaction (the outcome is written again only when it was another); a concurrent delivery of the same
    event waits on the stored row and then finds it processed."""
    now = now or timezone.now()
    found = _EVENT_STATUS.rows(event_id=event["id"])
    known = found[0] if found else None
    if known is not None and known.status in WebhookEvent.FINAL:
        return WebhookEvent(pk=known.pk, event_id=event["id"], type=event["type"], status=known.status)
    if known is None:
        _warn_if_other_api_version(event)
    try:
        with transaction.atomic():
            record, claimed = _claim(event, now=now)
            if claimed:
                return _process_claimed(record, now=now)
            if record.status in WebhookEvent.FINAL:
                return record
            return _process(record, now=now)
    except Exception as error:
        _record_failure(event, error, now=now)
        raise WebhookProcessingFailed(str(error)) from error


def _event_status(*, event_id: str):
    return WebhookEvent.objects.filter(event_id=event_id).only("pk", "status").order_by()[:1]


# Every delivery looks its event up first (a replay ends there): built once per process, run prepared.
_EVENT_STATUS = PreparedQuery(_event_status, event_id=str)


def _warn_if_other_api_version(event: dict) -> None:
    """An event rendered at another API version than the one the shop pins may be shaped differently from what
    the handlers expect: it is still processed (Stripe would otherwise retry it for days), and staff are told to
    align the endpoint's version (README: Stripe)."""
    version = event.get("api_version")
    if version != settings.STRIPE_API_VERSION:
        logger.warning("Stripe event %s (%s) has API version %s, not the pinned %s: set the webhook endpoint's "
                       "API version to %s", event["id"], event["type"], version, settings.STRIPE_API_VERSION,
                       settings.STRIPE_API_VERSION)


def webhook_event_process(*, webhook_event_id: int, now: datetime | None = None) -> WebhookEvent:
    """Process a stored event again unless it was processed meanwhile (staff's "process again"). Raises
    ``WebhookProcessingFailed`` after recording the failure."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.select_for_update().get(pk=webhook_event_id)
            if record.status in WebhookEvent.FINAL:
                return record
            return _process(record, now=now)
    except Exception as error:
        logger.exception("Processing Stripe event %s failed", webhook_event_id)
        WebhookEvent.objects.filter(pk=webhook_event_id).update(
            status=WebhookEvent.Status.FAILED, attempts=F("attempts") + 1, error=_describe(error))
        raise WebhookProcessingFailed(str(error)) from error


_TABLE = WebhookEvent._meta.db_table
_COLUMNS = "event_id, type, stripe_object_id, api_version, payload, status, error, attempts, received_at"
_CLAIM_SQL = (f"INSERT INTO {_TABLE} ({_COLUMNS}, processed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s, %s) "
              f"ON CONFLICT (event_id) DO NOTHING RETURNING id")
_FAILURE_SQL = (f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s) "
                f"ON CONFLICT (event_id) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error, "
                f"attempts = {_TABLE}.attempts + 1")


def _row(event: dict, status: str, now: datetime) -> list:
    payload = WebhookEvent._meta.get_field("payload").get_db_prep_value(event, connection)
    return [event["id"], event["type"][:100], str(event["data"]["object"].get("id") or "")[:255],
            str(event.get("api_version") or "")[:40], payload, status, connection.ops.adapt_datetimefield_value(now)]


def _claim(event: dict, *, now: datetime) -> tuple[WebhookEvent, bool]:
    """Insert the event's row, or lock the one a previous (or concurrent) delivery stored: one statement for a
    new event, and the database's unique index decides between concurrent deliveries. Returns the record and
    whether it is new.

    A new row says already what most deliveries of its type end in (``likely_outcome``), processed now: the
    transaction commits it only together with the processing, and ``_process_claimed`` writes the outcome again
    only when it was another -- the usual delivery is spared an UPDATE."""
    status, error = likely_outcome(event["type"])
    adapted_now = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [*_row(event, status, now)[:6], error, adapted_now, adapted_now])
        inserted = cursor.fetchone()
    if inserted is None:
        return WebhookEvent.objects.select_for_update().get(event_id=event["id"]), False
    return WebhookEvent(pk=inserted[0], event_id=event["id"], type=event["type"], payload=event,
                        api_version=str(event.get("api_version") or "")[:40],
                        status=status, error=error, attempts=1, received_at=now, processed_at=now), True


def _process_claimed(record: WebhookEvent, *, now: datetime) -> WebhookEvent:
    """Process a record ``_claim`` inserted with its likely outcome; save the actual one if that differs."""
    outcome = _dispatch(record.type, record.payload["data"]["object"], now=now)
    if outcome != (record.status, record.error):
        record.status, record.error = outcome
        record.save(update_fields=["status", "error"])
    logger.info("Stripe event %s (%s): %s %s", record.event_id, record.type, record.status, record.error)
    return record


def _process(record: WebhookEvent, *, now: datetime) -> WebhookEvent:
    record.status, record.error = _dispatch(record.type, record.payload["data"]["object"], now=now)
    record.processed_at = now
    record.attempts += 1
    record.save(update_fields=["status", "error", "processed_at", "attempts"])
    logger.info("Stripe event %s (%s): %s %s", record.event_id, record.type, record.status, record.error)
    return record


def _record_failure(event: dict, error: Exception, *, now: datetime) -> None:
    """Outside the rolled-back transaction: the delivery is on record as failed, with why and how often. If
    even that cannot be written (the database is down), the log says so and the caller still answers 500, so
    Stripe delivers the event again."""
    logger.exception("Processing Stripe event %s (%s) failed", event["id"], event["type"])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_FAILURE_SQL, [*_row(event, WebhookEvent.Status.FAILED, now)[:6], _describe(error),
                                          connection.ops.adapt_datetimefield_value(now)])
    except Exception:
        logger.exception("Recording the failure of Stripe event %s failed too; Stripe will deliver it again",
                         event["id"])


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LIMIT]


def webhook_events_reprocess(*, webhook_event_ids) -> dict:
    """Staff's "process again" for failed deliveries. Returns how many ended in each status."""
    counts: dict = {}
    for record_id in WebhookEvent.objects.filter(pk__in=list(webhook_event_ids),
                                                 status=WebhookEvent.Status.FAILED).values_list("pk", flat=True):
        try:
            status = webhook_event_process(webhook_event_id=record_id).status
        except WebhookProcessingFailed:
            status = WebhookEvent.Status.FAILED
        counts[status] = counts.get(status, 0) + 1
    return counts


def _checkout_session_event(obj: dict, now: datetime) -> tuple[str, str]:
    stripe_session = StripeCheckoutSession.from_data(obj)
    outcome = checkout_session_sync(stripe_session=stripe_session, now=now)
    if outcome == Outcome.UNKNOWN_SESSION:
        # A paid session of ours that we no longer have is recorded for staff (and refunded when safe), not ignored.
        return stripe_payment_without_session(stripe_session=stripe_session, now=now) or _outcome(outcome)
    return _outcome(outcome)


def _async_payment_failed(obj: dict, now: datetime) -> tuple[str, str]:
    return _outcome(checkout_session_async_payment_failed(stripe_session=StripeCheckoutSession.from_data(obj),
                                                          now=now))


def _payment_intent_failed(obj: dict, now: datetime) -> tuple[str, str]:
    error = obj.get("last_payment_error") or {}
    return _outcome(checkout_session_payment_failed(
        checkout_session_id=(obj.get("metadata") or {}).get("checkout_session_id", ""),
        payment_intent_id=obj.get("id", ""), message=error.get("message", ""), now=now))


def _charge_refunded(obj: dict, now: datetime) -> tuple[str, str]:
    refunded = charge_refunded_apply(charge=StripeCharge.from_data(obj), now=now)
    if refunded == RefundOutcome.UNKNOWN_PAYMENT:
        return WebhookEvent.Status.IGNORED, f"{refunded}: nothing of ours was refunded"
    return WebhookEvent.Status.PROCESSED, str(refunded)


def _dispute_event(obj: dict, now: datetime) -> tuple[str, str]:
    applied = dispute_apply(stripe_dispute=StripeDispute.from_data(obj), now=now)
    if applied.outcome == DisputeOutcome.UNKNOWN_PAYMENT:
        return WebhookEvent.Status.IGNORED, f"{applied}: not a payment of ours"[:ERROR_LIMIT]
    return WebhookEvent.Status.PROCESSED, str(applied)[:ERROR_LIMIT]


def _refund_event(obj: dict, now: datetime) -> tuple[str, str]:
    applied = stripe_refund_apply(stripe_refund=StripeRefund.from_data(obj), now=now)
    if applied == RefundOutcome.UNKNOWN_PAYMENT:
        return WebhookEvent.Status.IGNORED, f"{applied}: nothing of ours was refunded"
    return WebhookEvent.Status.PROCESSED, str(applied)


def _outcome(outcome: Outcome) -> tuple[str, str]:
    if outcome == Outcome.UNKNOWN_SESSION:
        return WebhookEvent.Status.IGNORED, f"{outcome.value}: nothing of ours to update"
    return WebhookEvent.Status.PROCESSED, outcome.value


# Each event type the shop acts on, and the function that applies its ``data.object`` (inside the delivery's
# transaction) and returns the record's status and a few words. Every other type is stored as ignored.
HANDLERS = {
    "checkout.session.completed": _checkout_session_event,
    "checkout.session.async_payment_succeeded": _checkout_session_event,
    "checkout.session.expired": _checkout_session_event,
    "checkout.session.async_payment_failed": _async_payment_failed,
    "payment_intent.payment_failed": _payment_intent_failed,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.refund.updated": _refund_event,
    # Each carries the whole dispute; they are applied alike, in whatever order they come.
    "charge.dispute.created": _dispute_event,
    "charge.dispute.updated": _dispute_event,
    "charge.dispute.closed": _dispute_event,
    "charge.dispute.funds_withdrawn": _dispute_event,
    "charge.dispute.funds_reinstated": _dispute_event,
}


# What a delivery of these types ends in when all goes as usual (a session paid: its purchase credited).
_USUAL_OUTCOMES = {
    "checkout.session.completed": _outcome(Outcome.CREDITED),
    "checkout.session.async_payment_succeeded": _outcome(Outcome.CREDITED),
}


def likely_outcome(event_type: str) -> tuple[str, str]:
    """The status and words a first delivery of ``event_type`` most likely ends with (certainly, for the types
    the shop does not handle)."""
    if event_type not in HANDLERS:
        return _unhandled(event_type)
    return _USUAL_OUTCOMES.get(event_type, (WebhookEvent.Status.PROCESSED, ""))


def _unhandled(event_type: str) -> tuple[str, str]:
    return WebhookEvent.Status.IGNORED, f"{event_type} is not handled by the shop"


def _dispatch(event_type: str, obj: dict, *, now: datetime) -> tuple[str, str]:
    handler = HANDLERS.get(event_type)
    if handler is None:
        return _unhandled(event_type)
    return handler(obj, now)
