"""Where the fake Stripe's events go in tests (``settings.STRIPE_FAKE_WEBHOOK_DELIVERY``, set by the fixtures
``webhooks`` and ``held_webhooks`` in tests/conftest.py) instead of its production path, a real POST from a
background thread (covered against running servers by tests/checkout/test_live_delivery.py and the browser
tests):

- ``deliver_through_test_client``: the signed POST goes through Django's test client, at once;
- ``hold``: the events are kept, and the test delivers them when it wants, or never (a lost webhook).
"""

import json
from urllib.parse import urlsplit

import requests
from django.test import Client

DELIVERED: list[tuple[str, int]] = []


def deliver_through_test_client(*, url: str, payload: str, signature: str) -> None:
    response = Client().post(urlsplit(url).path, data=payload, content_type="application/json",
                             headers={"Stripe-Signature": signature})
    DELIVERED.append((json.loads(payload)["type"], response.status_code))


class HeldEvent(dict):
    """An event the fake Stripe meant to send: the event itself, as the webhook endpoint parses it, with the
    ``url``, ``payload`` and ``signature`` of its delivery."""

    def __init__(self, *, url: str, payload: str, signature: str):
        super().__init__(json.loads(payload))
        self.url, self.payload, self.signature = url, payload, signature


class HeldEvents(list):
    """The held events, oldest first."""

    def take(self, event_type: str) -> HeldEvent:
        """The one held event of ``event_type``, removed from the held ones."""
        matching = [event for event in self if event["type"] == event_type]
        assert len(matching) == 1, f"expected one held {event_type}, held: {[event['type'] for event in self]}"
        del self[next(index for index, event in enumerate(self) if event is matching[0])]
        return matching[0]

    @staticmethod
    def post(event: HeldEvent) -> requests.Response:
        """Deliver as Stripe does: the payload as signed, POSTed over HTTP to the URL the fake meant (a live
        server's)."""
        return requests.post(event.url, data=event.payload.encode("utf-8"), timeout=10, headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": event.signature})


HELD = HeldEvents()


def hold(*, url: str, payload: str, signature: str) -> None:
    HELD.append(HeldEvent(url=url, payload=payload, signature=signature))
