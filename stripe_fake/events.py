"""Events as Stripe sends them: built when something happens, signed with the webhook secret at delivery time,
and POSTed to the account's webhook endpoint (``settings.STRIPE_FAKE_WEBHOOK_URL``, what a real account has in
Stripe's dashboard) after the transaction that caused them commits."""

import copy
import json
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from stripe import WebhookSignature
from stripe._api_version import _ApiVersion

from stripe_fake import shapes, store
from stripe_fake.models import FakeStripeObject

logger = logging.getLogger(__name__)

DEFAULT_DELIVERY = "stripe_fake.delivery.deliver_in_background"


def public(obj: dict) -> dict:
    """The object as the API shows it: the fake's private bookkeeping (keys starting with "_") left out, and
    every field Stripe shows on such an object (``shapes``)."""
    return shapes.render({key: value for key, value in obj.items() if not key.startswith("_")})


def emit(event_type: str, obj: dict, *, session: dict) -> dict:
    """Record the event ``obj`` caused (listed with ``session`` on its hosted page); deliver it after commit to
    the endpoint configured now, which the event keeps for a later resend."""
    endpoint = getattr(settings, "STRIPE_FAKE_WEBHOOK_URL", "")
    event = {
        "id": store.new_id("evt_test_"),
        "object": "event",
        # The account's webhook endpoint was created at the shop's pinned version, as README says to.
        "api_version": getattr(settings, "STRIPE_API_VERSION", "") or _ApiVersion.CURRENT,
        "created": store.unix_now(),
        "data": {"object": copy.deepcopy(public(obj))},
        "livemode": False,
        "pending_webhooks": 1 if endpoint else 0,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "_endpoint": endpoint,
        "_session": session["id"],
    }
    store.insert(event, kind="event")
    if endpoint:
        # Delivered only once the change is committed, so the webhook handler (maybe in another process) finds
        # the session already paid when it asks; robust: a failing delivery never undoes the payment.
        transaction.on_commit(partial(send, event), robust=True)
    return event


def send(event: dict) -> None:
    payload = json.dumps(public(event))
    signature = WebhookSignature.generate_signature_header(payload, settings.STRIPE_WEBHOOK_SECRET)
    deliver = import_string(getattr(settings, "STRIPE_FAKE_WEBHOOK_DELIVERY", "") or DEFAULT_DELIVERY)
    logger.info("Fake Stripe delivering %s %s to %s", event["type"], event["id"], event["_endpoint"])
    deliver(url=event["_endpoint"], payload=payload, signature=signature)


def events_for_session(session_id: str) -> list[dict]:
    rows = FakeStripeObject.objects.filter(kind="event", data___session=session_id).order_by("created_at")
    return [row.data for row in rows]


def resend(event_id: str) -> dict | None:
    """Deliver a stored event again, as the dashboard's "Resend" does: same event id, fresh signature."""
    event = store.load(event_id, kind="event")
    if event and event.get("_endpoint"):
        send(event)
    return event
