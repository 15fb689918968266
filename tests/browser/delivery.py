"""Webhook delivery the browser tests control: the fake Stripe's events are held instead of sent, and the test
delivers them when it wants -- as a real, signed HTTP POST to the live server's webhook endpoint."""

import json
from dataclasses import dataclass

import requests

HELD: list["HeldEvent"] = []


@dataclass(frozen=True)
class HeldEvent:
    url: str
    payload: str
    signature: str

    @property
    def type(self) -> str:
        return json.loads(self.payload)["type"]

    def as_delivery(self) -> dict:
        return {"url": self.url, "payload": self.payload, "signature": self.signature}


def hold(*, url: str, payload: str, signature: str) -> None:
    HELD.append(HeldEvent(url=url, payload=payload, signature=signature))


def take(event_type: str) -> HeldEvent:
    """The one held event of ``event_type``, removed from the held ones."""
    matching = [event for event in HELD if event.type == event_type]
    assert len(matching) == 1, f"expected one held {event_type}, held: {[event.type for event in HELD]}"
    HELD.remove(matching[0])
    return matching[0]


def post(event: HeldEvent) -> requests.Response:
    """Deliver as Stripe does: the signed payload, POSTed over HTTP from outside the browser."""
    return requests.post(event.url, data=event.payload.encode("utf-8"), timeout=10, headers={
        "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": event.signature})
