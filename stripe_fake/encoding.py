"""Decoding Stripe's form encoding (``line_items[0][price_data][currency]=usd``) back into nested data."""

import re
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode_form(body: str | bytes | None) -> dict:
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    root: dict = {}
    for key, value in parse_qsl(body or "", keep_blank_values=True):
        head, _, rest = key.partition("[")
        path = [head] + (_SEGMENT.findall("[" + rest) if rest else [])
        _assign(root, path, value)
    return _lists_from_indexes(root)


def _assign(node: dict, path: list[str], value: str) -> None:
    for segment in path[:-1]:
        node = node.setdefault(segment, {})
        if not isinstance(node, dict):  # "a=1&a[b]=2": the later, nested one wins, as on Stripe
            node = {}
    node[path[-1]] = value


def _lists_from_indexes(node):
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexes(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
