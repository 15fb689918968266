"""The fake Stripe's memory: rows of ``FakeStripeObject``, one per Stripe object, keyed by Stripe-style ids."""

import secrets
import string
import time

from stripe_fake.models import FakeStripeObject

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def unix_now() -> int:
    return int(time.time())


def load(object_id: str, *, kind: str, lock: bool = False) -> dict | None:
    rows = FakeStripeObject.objects.filter(pk=object_id, kind=kind)
    if lock:
        rows = rows.select_for_update()
    row = rows.first()
    return row.data if row else None


def insert(data: dict, *, kind: str) -> dict:
    FakeStripeObject.objects.create(pk=data["id"], kind=kind, data=data)
    return data


def save(data: dict, *, kind: str) -> dict:
    FakeStripeObject.objects.filter(pk=data["id"], kind=kind).update(data=data)
    return data


def objects_of(kind: str) -> list[dict]:
    return [row.data for row in FakeStripeObject.objects.filter(kind=kind).order_by("created_at")]
