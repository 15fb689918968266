"""Stripe's own example objects for tests (Stripe's published fixtures3.json, in ``tests/stripe_fixtures/``),
copied and then tied to our records the way a live event would be."""

import copy
import json
from functools import cache
from pathlib import Path

EXAMPLES = Path(__file__).with_name("stripe_fixtures") / "fixtures3.json"


@cache
def _resources() -> dict:
    return json.loads(EXAMPLES.read_text())["resources"]


def stripe_example(name: str, **fields) -> dict:
    """A fresh copy of Stripe's example ``name`` object with ``fields`` set (ids, amounts, metadata...)."""
    example = copy.deepcopy(_resources()[name])
    example.update(fields)
    return example
