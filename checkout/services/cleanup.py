"""Housekeeping: mark overdue sessions expired, delete abandoned ones. Set-based, in short batches.

Each batch is one transaction over at most ``batch_size`` rows picked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: a checkout holding its session's row lock is skipped (the next run gets it), never waited for, and
two cleanups running at once share the work instead of queueing. Killed midway, a run loses at most the batch
in flight (rolled back); running again carries on. Which statuses may become ``expired`` comes from
``CheckoutSession.TRANSITIONS``, the same table the row-by-row services obey, and the expiry writes each
session's history row as they do.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import connection, models, transaction
from django.utils import timezone

from checkout.kinds import registered
from checkout.models import CheckoutSession, CheckoutSessionStatusChange

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
PURGE_AFTER = timedelta(days=7)

_TABLE = CheckoutSession._meta.db_table
_HISTORY = CheckoutSessionStatusChange._meta.db_table
EXPIRY_NOTE = "overdue (cleanup)"
# checkout.models.PURGEABLE in SQL (tests/checkout/test_cleanup.py checks that both pick the same sessions).
_PURGEABLE_SQL = "status <> 'completed' AND NOT awaiting_stripe AND stripe_status <> 'complete'"


def checkout_sessions_expire_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE,
                                 max_batches: int | None = None) -> int:
    """Mark ``active`` sessions whose ``expires_at`` has passed as ``expired``, each with its history row.
    Returns how many."""
    now = now or timezone.now()
    expired = CheckoutSession.Status.EXPIRED
    sources = CheckoutSession.TRANSITIONS.sources_of(expired)
    # Only active sessions may expire (the table says so), which is what the history rows record as the source.
    (source,) = sources
    # Oldest first along the (status, expires_at) index, so no batch re-reads what earlier ones finished.
    pick = (f"SELECT id FROM {_TABLE} WHERE status = %s AND expires_at <= %s "
            f"ORDER BY expires_at LIMIT %s{_skip_locked()}")
    moment = _db_datetime(now)
    pick_params = [source, moment, batch_size]
    history = (f"INSERT INTO {_HISTORY} (session_id, from_status, to_status, note, created_at) ")
    if connection.vendor == "postgresql":
        # ARRAY(...) makes the picked ids a constant for the UPDATE, which then finds them through the primary
        # key; with "id IN (subquery)" PostgreSQL may hash-join against a scan of the whole table, every batch.
        # The history rows are written by the same statement: one round trip per batch.
        sql = (f"WITH moved AS (UPDATE {_TABLE} SET status = %s, updated_at = %s "
               f"WHERE id = ANY(ARRAY({pick})) AND status = %s RETURNING id) "
               f"{history}SELECT id, %s, %s, %s, %s FROM moved")
        params = [expired, moment, *pick_params, source, source, expired, EXPIRY_NOTE, moment]
        return _in_batches("expired", lambda cursor: _execute(cursor, sql, params), batch_size, max_batches)

    def expire_batch(cursor) -> int:
        cursor.execute(f"UPDATE {_TABLE} SET status = %s, updated_at = %s WHERE id IN ({pick}) RETURNING id",
                       [expired, moment, *pick_params])
        moved = [row[0] for row in cursor.fetchall()]
        cursor.executemany(f"{history}VALUES (%s, %s, %s, %s, %s)",
                           [(session_id, source, expired, EXPIRY_NOTE, moment) for session_id in moved])
        return len(moved)

    return _in_batches("expired", expire_batch, batch_size, max_batches)


def checkout_sessions_purge_stale(*, now: datetime | None = None, older_than: timedelta = PURGE_AFTER,
                                  batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> int:
    """Delete sessions that never completed and were last updated more than ``older_than`` ago, unless a payment
    may still arrive for them (``checkout.models.PURGEABLE``: awaiting Stripe, or completed at Stripe -- a bank
    debit can settle weeks later, and its payment must find its session). Links to them from sessions that stay
    (``replaced_by``) are cleared in the same transaction. Returns how many."""
    cutoff = _db_datetime((now or timezone.now()) - older_than)
    # Along the partial index on updated_at of purgeable sessions, oldest first: the condition is the index's own,
    # spelled out as constants so that the planner can match it whatever the parameters.
    pick = (f"SELECT id FROM {_TABLE} WHERE {_PURGEABLE_SQL} AND updated_at < %s "
            f"ORDER BY updated_at LIMIT %s{_skip_locked()}")
    if connection.vendor == "postgresql":
        # One round trip per batch. The UPDATE leaves the batch's own rows alone (they are being deleted: one
        # statement must not change a row twice); foreign keys are checked at commit, when all is consistent.
        ids = f"(SELECT ids FROM batch)::{CheckoutSession._meta.pk.db_type(connection)}[]"
        outside = "".join(f"unlinked_{n} AS (UPDATE {table} SET {column} = NULL WHERE {column} = ANY({ids})), "
                          for n, (table, column) in enumerate(_outside_links()))
        outside += "".join(f"dependents_{n} AS (DELETE FROM {table} WHERE {column} = ANY({ids})), "
                           for n, (table, column) in enumerate(_outside_dependents()))
        sql = (f"WITH batch AS MATERIALIZED (SELECT ARRAY({pick}) AS ids), {outside}"
               f"unlinked AS (UPDATE {_TABLE} SET replaced_by_id = NULL "
               f"WHERE replaced_by_id = ANY({ids}) AND NOT (id = ANY({ids}))) "
               f"DELETE FROM {_TABLE} WHERE id = ANY({ids})")
        return _in_batches("purged", lambda cursor: _execute(cursor, sql, [cutoff, batch_size]),
                           batch_size, max_batches)

    def purge_batch(cursor) -> int:
        cursor.execute(pick, [cutoff, batch_size])
        picked = [row[0] for row in cursor.fetchall()]
        if not picked:
            return 0
        marks = ", ".join(["%s"] * len(picked))
        cursor.execute(f"UPDATE {_TABLE} SET replaced_by_id = NULL WHERE replaced_by_id IN ({marks})", picked)
        for table, column in _outside_links():
            cursor.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({marks})", picked)
        for table, column in _outside_dependents():
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", picked)
        return _execute(cursor, f"DELETE FROM {_TABLE} WHERE id IN ({marks})", picked)

    return _in_batches("purged", purge_batch, batch_size, max_batches)


def checkout_sessions_sweep_kinds(*, now: datetime | None = None) -> dict[str, int]:
    """After the set-based expiry and purge, which end sessions without calling their kinds one by one: each kind
    releases what it still holds for ended or deleted sessions. Returns {kind: how many}."""
    now = now or timezone.now()
    return {kind.name: kind.sweep(now=now) for kind in registered()}


def _outside_links() -> list[tuple[str, str]]:
    """Columns of other tables that point at sessions with on_delete=SET_NULL (a card order's link to the session
    that paid it): the raw DELETE must clear them itself, as the ORM would have."""
    return _links_from_other_apps(models.SET_NULL)


def _outside_dependents() -> list[tuple[str, str]]:
    """Rows of other tables that live and die with their session (on_delete=CASCADE: its history, a points
    purchase's snapshot): the raw DELETE removes them first, as the ORM would have."""
    return _links_from_other_apps(models.CASCADE)


def _links_from_other_apps(on_delete) -> list[tuple[str, str]]:
    return [(relation.related_model._meta.db_table, relation.field.column)
            for relation in CheckoutSession._meta.related_objects
            if relation.related_model is not CheckoutSession and relation.on_delete is on_delete]


def _in_batches(verb: str, run_batch, batch_size: int, max_batches: int | None) -> int:
    started, total, batches = time.monotonic(), 0, 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic(), connection.cursor() as cursor:
            done = run_batch(cursor)
        total += done
        batches += 1
        if done < batch_size:
            break
    logger.info("Checkout cleanup: %s %d sessions in %d batches (%.2f s)", verb, total, batches,
                time.monotonic() - started)
    return total


def _execute(cursor, sql: str, params) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _skip_locked() -> str:
    return " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


def _db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)
