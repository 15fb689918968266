"""Stripe's webhooks as tests send them: events built as Stripe builds them, signed with the endpoint's secret and
POSTed to the shop's endpoint, once or many at a time."""

import json
import secrets
import threading
import time

from django.conf import settings
from django.db import connection
from django.test import Client
from stripe import WebhookSignature

WEBHOOK_URL = "/webhooks/stripe/"


def sign(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    return WebhookSignature.generate_signature_header(payload, secret or settings.STRIPE_WEBHOOK_SECRET,
                                                      timestamp=timestamp)


def post_event(client, event: dict, **signing):
    payload = json.dumps(event)
    return client.post(WEBHOOK_URL, data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sign(payload, **signing)})


def deliver_concurrently(deliveries: list[dict]) -> list[int]:
    """POST every event at once from its own thread (Stripe retrying in parallel); returns the HTTP statuses."""
    barrier, statuses = threading.Barrier(len(deliveries)), []

    def stripe_delivers(event):
        barrier.wait(10)
        statuses.append(post_event(Client(), event).status_code)
        connection.close()

    threads = [threading.Thread(target=stripe_delivers, args=(event,)) for event in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def stripe_event(event_type: str, obj: dict) -> dict:
    """An event as Stripe builds it, for states the fake's buttons do not produce on their own."""
    return {"id": f"evt_test_{secrets.token_hex(12)}", "object": "event", "api_version": settings.STRIPE_API_VERSION,
            "created": int(time.time()), "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type}
