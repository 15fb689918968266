"""Webhook delivery for tests that use Django's test client: the fake Stripe's signed POST goes through the
test client instead of a socket (the production path, a real HTTP POST from a thread, is covered by
tests/checkout/test_live_delivery.py against a running server)."""

import json
from urllib.parse import urlsplit

from django.test import Client

DELIVERED: list[tuple[str, int]] = []


def deliver_through_test_client(*, url: str, payload: str, signature: str) -> None:
    response = Client().post(urlsplit(url).path, data=payload, content_type="application/json",
                             headers={"Stripe-Signature": signature})
    DELIVERED.append((json.loads(payload)["type"], response.status_code))

HELD: list[dict] = []


def hold(*, url: str, payload: str, signature: str) -> None:
    """Keep the event instead of delivering it: the test posts it (again and again) itself."""
    HELD.append(json.loads(payload))
