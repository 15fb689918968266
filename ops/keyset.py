"""Keyset pagination ("older than the last one shown") over a (created_at, id) index, newest first.

No COUNT and no OFFSET: a page costs one index range scan whatever the history's length, and a row added while
the shopper reads is not shown twice. The cursor is ``<created_at in microseconds since 1970>-<id>`` of the last
row shown: exact, and safe in a URL. Anything malformed means "from the newest".
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from ops.prepared import PreparedQuery

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


class PreparedNewestFirst:
    """``newest_first_page`` for a list read on every visit, its SQL prepared once per process (``ops.prepared``):
    ``build(*shape, **values)`` gives the owner's rows (``values`` typed as ``value_types``: the owner's id),
    ``page(*shape, cursor=..., page_size=..., **values)`` a page of them."""

    def __init__(self, build, *, id_type=int, **value_types):
        def rows(limit, *shape, after_created_at=None, after_id=None, **values):
            found = build(*shape, **values)
            if after_created_at is not None:
                found = found.filter(Q(created_at__lt=after_created_at) | Q(created_at=after_created_at,
                                                                             pk__lt=after_id))
            return found.order_by("-created_at", "-pk")[:limit]

        self.id_type = id_type
        self._newest = PreparedQuery(rows, **value_types)
        self._older = PreparedQuery(rows, **value_types, after_created_at=datetime, after_id=id_type)

    def page(self, *shape, cursor: str | None, page_size: int, **values) -> KeysetPage:
        after = parse_cursor(cursor, id_type=self.id_type)
        if after is None:
            found = self._newest.rows(page_size + 1, *shape, **values)
        else:
            found = self._older.rows(page_size + 1, *shape, after_created_at=after[0], after_id=after[1], **values)
        page, more = found[:page_size], len(found) > page_size
        return KeysetPage(rows=page, next_cursor=cursor_for(page[-1]) if more else None)
