"""Housekeeping: mark overdue sessions expired, delete abandoned ones. Set-based, in short batches.

Each batch is one transaction over at most ``batch_size`` rows picked with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: a checkout holding its session's row lock is skipped (the next run gets it), never waited for, and
two cleanups running at once share the work instead of queueing. Killed midway, a run loses at most the batch
in flight (rolled back); running again carries on. Which statuses may become ``expired`` comes from
``CheckoutSession.TRANSITIONS``, the same table the row-by-row services obey.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from checkout.models import CheckoutSession

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
PURGE_AFTER = timedelta(days=7)

_TABLE = CheckoutSession._meta.db_table


def checkout_sessions_expire_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE,
                                 max_batches: int | None = None) -> int:
    """Mark ``active`` sessions whose ``expires_at`` has passed as ``expired``. Returns how many."""
    now = now or timezone.now()
    sources = CheckoutSession.sources_of(CheckoutSession.Status.EXPIRED)
    placeholders = ", ".join(["%s"] * len(sources))
    sql = (f"UPDATE {_TABLE} SET status = %s, updated_at = %s WHERE id IN ("
           f"SELECT id FROM {_TABLE} WHERE status IN ({placeholders}) AND expires_at <= %s LIMIT %s{_skip_locked()})")
    moment = _db_datetime(now)
    params = [CheckoutSession.Status.EXPIRED, moment, *sources, moment, batch_size]
    return _in_batches("expired", lambda cursor: _execute(cursor, sql, params), batch_size, max_batches)


def checkout_sessions_purge_stale(*, now: datetime | None = None, older_than: timedelta = PURGE_AFTER,
                                  batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> int:
    """Delete sessions that never completed and were last updated more than ``older_than`` ago. Links to them
    from sessions that stay (``replaced_by``) are cleared in the same transaction. Returns how many."""
    cutoff = _db_datetime((now or timezone.now()) - older_than)
    completed = CheckoutSession.Status.COMPLETED
    pick = f"SELECT id FROM {_TABLE} WHERE status <> %s AND updated_at < %s LIMIT %s{_skip_locked()}"
    if connection.vendor == "postgresql":
        # One round trip per batch; the UPDATE leaves the batch's own rows alone (they are being deleted).
        sql = (f"WITH batch AS ({pick}), unlinked AS ("
               f"UPDATE {_TABLE} SET replaced_by_id = NULL WHERE replaced_by_id IN (SELECT id FROM batch) "
               f"AND id NOT IN (SELECT id FROM batch)) "
               f"DELETE FROM {_TABLE} WHERE id IN (SELECT id FROM batch)")
        return _in_batches("purged", lambda cursor: _execute(cursor, sql, [completed, cutoff, batch_size]),
                           batch_size, max_batches)

    def purge_batch(cursor) -> int:
        cursor.execute(pick, [completed, cutoff, batch_size])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(f"UPDATE {_TABLE} SET replaced_by_id = NULL WHERE replaced_by_id IN ({marks})", ids)
        return _execute(cursor, f"DELETE FROM {_TABLE} WHERE id IN ({marks})", ids)

    return _in_batches("purged", purge_batch, batch_size, max_batches)


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
