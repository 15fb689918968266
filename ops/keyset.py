"""Keyset pagination ("older than the last one shown") over a (created_at, id) index, newest first.

No COUNT and no OFFSET: a page costs one index range scan whatever the history's length, and a row added while
the shopper reads is not shown twice. The cursor is ``<created_at in microseconds since 1970>-<id>`` of the last
row shown: exact, and safe in a URL. Anything malformed means "from the newest".
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None


def cursor_for(row) -> str:
    return f"{(row.created_at - _EPOCH) // _MICROSECOND}-{row.pk}"


def parse_cursor(cursor: str | None, *, id_type=int) -> tuple[datetime, object] | None:
    stamp, _, row_id = (cursor or "").partition("-")
    try:
        return _EPOCH + int(stamp) * _MICROSECOND, id_type(row_id)
    except (ValueError, OverflowError, TypeError):
        return None


def newest_first_page(rows: QuerySet, *, cursor: str | None, page_size: int) -> KeysetPage:
    """``rows`` (already filtered to one owner, whose index is (owner, -created_at, -id)) from ``cursor`` on."""
    id_type = uuid.UUID if rows.model._meta.pk.get_internal_type() == "UUIDField" else int
    after = parse_cursor(cursor, id_type=id_type)
    if after is not None:
        created_at, row_id = after
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=row_id))
    found = list(rows.order_by("-created_at", "-pk")[: page_size + 1])
    page, more = found[:page_size], len(found) > page_size
    return KeysetPage(rows=page, next_cursor=cursor_for(page[-1]) if more else None)
