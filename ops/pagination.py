"""Pages without an exact COUNT: a COUNT(*) reads every matching row (the slowest query of a list page once a table
is big), and most lists only need to know whether there is a next page.

``page_without_count`` (shoppers' numbered pages, e.g. the catalog): one query for the page and one more row.
``EstimatedCountPaginator`` (the admin's change lists, which need a count to draw their pager): an unfiltered list
of a table PostgreSQL estimates (``pg_class.reltuples``) at more than ``EXACT_COUNT_LIMIT`` rows is counted at that
estimate; otherwise rows are counted exactly up to the limit, read in the list's own order (an index range, never
the whole table) -- past it, the count shown is the limit itself: the pager goes that far, and a narrower filter
or search finds the rest.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections

EXACT_COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class PageWithoutCount:
    rows: list = field(default_factory=list)
    number: int = 1
    has_next: bool = False

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(number) -> int:
    """A page number from a query string: anything that is not a positive integer is page 1."""
    try:
        return max(1, int(number))
    except (TypeError, ValueError):
        return 1


def page_without_count(queryset, number, *, page_size: int) -> PageWithoutCount:
    """Page ``number`` (anything that is not a positive integer is page 1) of an ordered queryset."""
    number = page_number(number)
    start = (number - 1) * page_size
    rows = list(queryset[start:start + page_size + 1])
    return PageWithoutCount(rows=rows[:page_size], number=number, has_next=len(rows) > page_size)


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate > EXACT_COUNT_LIMIT:
                return estimate
        return min(queryset[:EXACT_COUNT_LIMIT + 1].count(), EXACT_COUNT_LIMIT)


def _estimated_rows(queryset) -> int:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                       [queryset.model._meta.db_table])
        row = cursor.fetchone()
    return max(0, row[0]) if row else 0  # -1: never analyzed
