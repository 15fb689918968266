"""Refusing parameters Stripe does not know, as Stripe does: 400 ``parameter_unknown`` naming the first one
(``line_items[0][price_data][colour]``), before the request does anything or is stored under its idempotency key.

What each endpoint accepts, nested keys included, comes from stripe-python's own typed parameters
(``stripe.params``), generated from Stripe's OpenAPI spec for the pinned version: the fake knows exactly the
parameter names Stripe does, without a list of its own to keep up to date. Only names are checked here; the
endpoints check the values they use.
"""

import re
import sys
import types
import typing
from decimal import Decimal
from functools import cache

from stripe import params as stripe_params
from stripe._request_options import RequestOptions
from typing_extensions import is_typeddict  # stripe.params are typing_extensions TypedDicts

from stripe_fake.errors import StripeAPIFailure

# (method, path pattern) -> the endpoint's parameters. Endpoints missing here are not checked.
ENDPOINTS = [
    ("post", r"/v1/checkout/sessions", stripe_params.checkout.SessionCreateParams),
    ("get", r"/v1/checkout/sessions", stripe_params.checkout.SessionListParams),
    ("get", r"/v1/checkout/sessions/[^/]+", stripe_params.checkout.SessionRetrieveParams),
    ("post", r"/v1/checkout/sessions/[^/]+/expire", stripe_params.checkout.SessionExpireParams),
    ("post", r"/v1/refunds", stripe_params.RefundCreateParams),
    ("get", r"/v1/refunds", stripe_params.RefundListParams),
    ("get", r"/v1/refunds/[^/]+", stripe_params.RefundRetrieveParams),
    ("post", r"/v1/refunds/[^/]+/cancel", stripe_params.RefundCancelParams),
    ("get", r"/v1/charges", stripe_params.ChargeListParams),
    ("get", r"/v1/charges/[^/]+", stripe_params.ChargeRetrieveParams),
    ("get", r"/v1/payment_intents/[^/]+", stripe_params.PaymentIntentRetrieveParams),
    ("get", r"/v1/disputes", stripe_params.DisputeListParams),
    ("get", r"/v1/disputes/[^/]+", stripe_params.DisputeRetrieveParams),
    ("post", r"/v1/disputes/[^/]+/close", stripe_params.DisputeCloseParams),
]
_ENDPOINTS = [(method, re.compile(pattern + "$"), spec) for method, pattern, spec in ENDPOINTS]
# How stripe-python is told what to do with a request (API key, idempotency key...): never sent as parameters.
_REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)


def refuse_unknown_parameters(method: str, path: str, params: dict) -> None:
    """Raise Stripe's 400 ``parameter_unknown`` for the first parameter of ``params`` the endpoint does not
    accept."""
    for endpoint_method, pattern, spec in _ENDPOINTS:
        if endpoint_method == method and pattern.match(path):
            unknown = _first_unknown(params, ("object", spec), "")
            if unknown:
                raise StripeAPIFailure(400, f"Received unknown parameter: {unknown}", code="parameter_unknown",
                                       param=unknown)
            return


# A parameter's shape: ("object", TypedDict) with known keys, ("list", item shape), ("union", [shapes]),
# ("any",) for maps whose keys are the caller's (metadata) or a type that cannot be read, ("scalar",).
ANY, SCALAR = ("any",), ("scalar",)


def _first_unknown(value, shape: tuple, path: str) -> str | None:
    """The first unknown parameter in ``value`` (at ``path``), or None. A value that fits one of a union's
    shapes is fine; otherwise the first shape's complaint is Stripe's."""
    if shape[0] == "union":
        found = [_first_unknown(value, member, path) for member in shape[1]]
        return None if None in found else found[0]
    if shape[0] == "object" and isinstance(value, dict):
        known = _keys(shape[1])
        for key, item in value.items():
            where = f"{path}[{key}]" if path else key
            if key not in known:
                return where
            found = _first_unknown(item, known[key], where)
            if found:
                return found
        return None
    if shape[0] == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unknown(item, shape[1], f"{path}[{index}]")
            if found:
                return found
        return None
    if shape is SCALAR and isinstance(value, (dict, list)) and value:
        # ``amount[x]=1``: Stripe names the nested key it does not know
        first = next(iter(value)) if isinstance(value, dict) else 0
        return f"{path}[{first}]"
    return None


@cache
def _keys(spec: type) -> dict:
    """A TypedDict's parameters and their shapes (forward references resolved in its module)."""
    namespace = vars(sys.modules[spec.__module__])
    return {key: _shape(annotation, namespace) for key, annotation in spec.__annotations__.items()
            if key not in _REQUEST_OPTIONS}


def _shape(annotation, namespace: dict) -> tuple:
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, dict(namespace))  # noqa: S307 -- stripe-python's own annotations
        except Exception:
            return ANY
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.NotRequired, typing.Required):
        return _shape(args[0], namespace)
    if origin in (typing.Union, types.UnionType):
        return ("union", [_shape(member, namespace) for member in args])
    if origin in (list, typing.List):
        return ("list", _shape(args[0], namespace) if args else ANY)
    if isinstance(annotation, type) and is_typeddict(annotation):
        return ("object", annotation)
    if origin is typing.Literal or annotation in (str, int, float, bool, Decimal, type(None)):
        return SCALAR
    return ANY  # Dict[str, str], UntypedStripeObject[str], Mapping...
