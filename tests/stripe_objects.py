"""Stripe's published example of every API object (``tests/stripe_fixtures/fixtures3.json``, see its README) and
the event types Stripe sends about each of them.

The event types are the ones stripe-python lets a webhook endpoint subscribe to (``enabled_events``), so they
follow the pinned library; each type is tied to the object its ``data.object`` carries."""

import copy
import json
import typing
from decimal import Decimal
from functools import cache
from pathlib import Path

import stripe
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


# --- comparing an object with Stripe's: field names, JSON types, nullability, enum values -----------------------

# stripe-python's class for each object the fake makes: its annotations say which fields may be null and which
# values an enum field has today (fixtures3 shows one example value, often null).
SDK_CLASSES = {"checkout.session": stripe.checkout.Session, "payment_intent": stripe.PaymentIntent,
               "charge": stripe.Charge, "refund": stripe.Refund, "dispute": stripe.Dispute}
_NONE = type(None)
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array",
               _NONE: "null"}


def shape_differences(obj: dict, name: str) -> list[str]:
    """How ``obj`` differs from Stripe's ``name`` object: a field fixtures3 has that ``obj`` lacks, a field
    Stripe does not have, a JSON type Stripe never uses there, a null where Stripe never leaves one, an enum
    value Stripe no longer sends. Nested objects are compared the same way wherever both have one."""
    return _differences(obj, stripe_object(name), SDK_CLASSES[name], name)


def _differences(obj: dict, example: dict, cls: type, path: str) -> list[str]:
    fields = _fields(cls)
    found = []
    for key in sorted(set(example) | set(obj)):
        where = f"{path}.{key}"
        if key not in obj:
            found.append(f"{where}: missing")
            continue
        if key not in example and key not in fields:
            found.append(f"{where}: not a field of Stripe's")
            continue
        found += _value_differences(obj[key], example.get(key), fields.get(key), where)
    return found


def _value_differences(value, example, annotation, where: str) -> list[str]:
    allowed = _json_types(annotation) if annotation is not None else {type(example), _NONE}
    if value is None:
        return [] if _NONE in allowed or example is None else [f"{where}: null, which Stripe never sends"]
    if type(value) not in allowed:
        return [f"{where}: {_JSON_NAMES.get(type(value), type(value))}, Stripe's is "
                f"{' or '.join(sorted(_JSON_NAMES.get(kind, str(kind)) for kind in allowed))}"]
    if example is not None and type(value) is not type(example) and type(example) not in allowed:
        return [f"{where}: {_JSON_NAMES[type(value)]}, Stripe's example is {_JSON_NAMES[type(example)]}"]
    values = _enum_values(annotation)
    if values and isinstance(value, str) and value not in values:
        return [f"{where}: {value!r} is not one of Stripe's values {sorted(values)}"]
    nested = _nested_class(annotation)
    if nested is not None and isinstance(value, dict):
        return _differences(value, example if isinstance(example, dict) else {}, nested, where)
    item = _list_item_class(annotation)
    if item is not None and isinstance(value, list) and value and isinstance(value[0], dict):
        first = example[0] if isinstance(example, list) and example and isinstance(example[0], dict) else {}
        return _differences(value[0], first, item, f"{where}[0]")
    return []


def _fields(cls: type) -> dict:
    fields = {}
    for klass in reversed(cls.__mro__):
        if issubclass(klass, stripe.StripeObject) and klass is not stripe.StripeObject:
            fields.update({key: value for key, value in vars(klass).get("__annotations__", {}).items()
                           if not key.startswith("_")})
    return fields


def _members(annotation) -> list:
    """The alternatives of ``annotation`` (``Optional[X]`` -> X, None)."""
    if typing.get_origin(annotation) is typing.Union:
        return [member for alternative in typing.get_args(annotation) for member in _members(alternative)]
    return [annotation]


def _json_types(annotation) -> set:
    kinds = set()
    for member in _members(annotation):
        origin = typing.get_origin(member) or member
        if member is typing.Any:
            return set(_JSON_NAMES)
        if origin is typing.Literal:
            kinds |= {type(value) for value in typing.get_args(member)}
        elif origin in (list, typing.List):
            kinds.add(list)
        elif isinstance(member, typing.ForwardRef) or origin is dict or (
                isinstance(origin, type) and issubclass(origin, stripe.StripeObject)):
            kinds.add(dict)  # a nested object, a map, or an expandable resource
        elif origin is Decimal:
            kinds.add(str)  # Stripe's decimal strings
        elif origin is float:
            kinds |= {float, int}
        elif isinstance(origin, type):
            kinds.add(origin)
    return kinds


def _enum_values(annotation) -> set:
    return {value for member in _members(annotation) if typing.get_origin(member) is typing.Literal
            for value in typing.get_args(member) if isinstance(value, str)}


def _nested_class(annotation) -> type | None:
    for member in _members(annotation):
        if (isinstance(member, type) and issubclass(member, stripe.StripeObject)
                and not issubclass(member, (stripe.ListObject, stripe.APIResource)) and _fields(member)):
            return member
    return None


def _list_item_class(annotation) -> type | None:
    for member in _members(annotation):
        if typing.get_origin(member) in (list, typing.List):
            return _nested_class(typing.get_args(member)[0])
    return None
