"""Stripe's published example of every API object (``tests/stripe_fixtures/fixtures3.json``, see its README) and
the event types Stripe sends about each of them.

The event types are the ones stripe-python lets a webhook endpoint subscribe to (``enabled_events``), so they
follow the pinned library; each type is tied to the object its ``data.object`` carries."""

import copy
import json
import typing
from functools import cache
from pathlib import Path

from stripe.params import WebhookEndpointCreateParams

FIXTURES = Path(__file__).parent / "stripe_fixtures" / "fixtures3.json"

# Types whose object is not named by the type without its last word ("charge.dispute.created" carries a dispute).
_OBJECTS_OF_PREFIX = {
    "account.application": ["application"],
    "account.external_account": ["bank_account", "card"],
    "application_fee.refund": ["fee_refund"],
    "charge.dispute": ["dispute"],
    "charge.refund": ["refund"],
    "customer.discount": ["discount"],
    "customer.source": ["card", "bank_account", "source"],
    "customer.subscription": ["subscription"],
    "customer.tax_id": ["tax_id"],
    "sigma.scheduled_query_run": ["scheduled_query_run"],
    "source.transaction": ["source_transaction"],
}
_OBJECTS_OF_TYPE = {
    "billing.alert.triggered": ["billing.alert_triggered"],
    "source.mandate_notification": ["source_mandate_notification"],
}


@cache
def _resources() -> dict:
    return json.loads(FIXTURES.read_text())["resources"]


def stripe_object(name: str) -> dict:
    """A fresh copy of Stripe's example ``name`` object (``"checkout.session"``, ``"charge"``...)."""
    return copy.deepcopy(_resources()[name])


def stripe_object_names() -> list[str]:
    return sorted(_resources())


@cache
def subscribable_event_types() -> tuple[str, ...]:
    """Every event type a webhook endpoint can be subscribed to, as the pinned stripe-python lists them."""
    (enabled,) = typing.get_args(WebhookEndpointCreateParams.__annotations__["enabled_events"])
    return tuple(value for value in typing.get_args(enabled) if value != "*")


def objects_of_event_type(event_type: str) -> list[str]:
    """The example objects an event of ``event_type`` can carry (none when fixtures3 has no such object)."""
    if event_type in _OBJECTS_OF_TYPE:
        return _OBJECTS_OF_TYPE[event_type]
    prefix = event_type.rsplit(".", 1)[0]
    if prefix in _OBJECTS_OF_PREFIX:
        return _OBJECTS_OF_PREFIX[prefix]
    for name in (prefix, prefix.replace("_", ".", 1)):  # "issuing_card.created" carries an issuing.card
        if name in _resources():
            return [name]
    return []


def event_types_about(name: str) -> list[str]:
    """What Stripe sends about the object ``name``: every subscribable type that carries it, and its
    ``.created``/``.updated``/``.deleted`` (a ``deleted_<object>`` only in ``<object>.deleted``)."""
    types = {event_type for event_type in subscribable_event_types() if name in objects_of_event_type(event_type)}
    if name.startswith("deleted_"):
        types.add(name.removeprefix("deleted_") + ".deleted")
    else:
        types.update(f"{name}.{verb}" for verb in ("created", "updated", "deleted"))
    return sorted(types)
