"""List endpoints of the fake Stripe, paged the way Stripe pages: newest first, ``limit`` (1-100, default 10),
``starting_after`` / ``ending_before`` an object id, ``created`` an integer or a range (``gt``, ``gte``, ``lt``,
``lte``), and the endpoint's own filters. stripe-python's ``auto_paging_iter`` walks them as it walks Stripe's.
"""

from django.db.models import Q

from stripe_fake.errors import invalid, missing
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_PAGING = {"limit", "starting_after", "ending_before", "created", "expand"}
_RANGE = {"gt", "gte", "lt", "lte"}

# path -> (object kind, the filters that endpoint accepts besides paging, each a key of the object)
ENDPOINTS = {
    "/v1/checkout/sessions": ("checkout.session", {"payment_intent", "status", "customer"}),
    "/v1/charges": ("charge", {"payment_intent", "customer"}),
    "/v1/refunds": ("refund", {"payment_intent", "charge"}),
    "/v1/disputes": ("dispute", {"payment_intent", "charge"}),
    "/v1/payment_intents": ("payment_intent", {"customer"}),
}


def list_objects(path: str, params: dict) -> dict:
    kind, filters = ENDPOINTS[path]
    for name in params:
        if name not in _PAGING | filters:
            raise invalid(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
    limit = _limit(params.get("limit"))
    rows = FakeStripeObject.objects.filter(kind=kind).filter(_created(params.get("created")))
    for name in filters & params.keys():
        rows = rows.filter(**{f"data__{name}": params[name]})
    if params.get("starting_after"):
        rows = rows.filter(_beyond(kind, params["starting_after"], "starting_after", older=True))
        ordering = ["-data__created", "-id"]
    elif params.get("ending_before"):
        rows = rows.filter(_beyond(kind, params["ending_before"], "ending_before", older=False))
        ordering = ["data__created", "id"]
    else:
        ordering = ["-data__created", "-id"]
    page = [row.data for row in rows.order_by(*ordering)[:limit + 1]]
    has_more = len(page) > limit
    page = page[:limit]
    if params.get("ending_before") and not params.get("starting_after"):
        page.reverse()  # fetched oldest first to find the page just before the cursor; shown newest first
    return {"object": "list", "data": [public(item) for item in page], "has_more": has_more, "url": path}


def _limit(value) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("This value must be greater than or equal to 1 and less than or equal to 100.",
                      param="limit")
    return limit


def _created(value) -> Q:
    if value in (None, ""):
        return Q()
    if not isinstance(value, dict):
        return Q(data__created=_timestamp(value, "created"))
    condition = Q()
    for bound, limit in value.items():
        if bound not in _RANGE:
            raise invalid(f"Received unknown parameter: created[{bound}]", param=f"created[{bound}]",
                          code="parameter_unknown")
        condition &= Q(**{f"data__created__{bound}": _timestamp(limit, f"created[{bound}]")})
    return condition


def _timestamp(value, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param=param) from None


def _beyond(kind: str, cursor_id: str, param: str, *, older: bool) -> Q:
    """The objects after ``cursor_id`` in list order (older ones) or before it (newer ones)."""
    cursor = FakeStripeObject.objects.filter(pk=cursor_id, kind=kind).first()
    if cursor is None:
        raise missing(kind, cursor_id, param=param)
    created = cursor.data["created"]
    if older:
        return Q(data__created__lt=created) | Q(data__created=created, id__lt=cursor_id)
    return Q(data__created__gt=created) | Q(data__created=created, id__gt=cursor_id)
