import contextlib

import psycopg
from django.db import close_old_connections, transaction
from django.db import connection as default_connection
from django.db.backends.utils import CursorDebugWrapper


class _LoggedAsSent(CursorDebugWrapper):
    """Logs (for tests and DEBUG) the statement with its parameters inlined, as Django's own cursors do: psycopg
    has no text for a statement it bound on the server and has prepared."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if params is not None and not many:
            sql, params = self.db.ops.compose_sql(sql, params), None
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


def server_binding_cursor(connection=None):
    """A cursor that binds its parameters on the server (Django's own cursors bind them into the SQL text), so
    psycopg prepares a statement after a few runs on a connection (settings: ``prepare_threshold``) and PostgreSQL
    stops parsing and planning it each time. For the wallet's two hottest statements: the ledger's spend
    (bench/wallet_spend.py, spread over many wallets: 0.4 of raw SQL's throughput unprepared, 0.7 prepared) and
    the balance badge's user-and-wallet read, the storefront's page queries (``ops.prepared``). Wrapped like
    Django's own cursors: errors translated, queries logged and counted by tests. PostgreSQL only."""
    connection = connection or default_connection
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = psycopg.Cursor(connection.connection)
    return _LoggedAsSent(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


def atomic_unless_autocommit(connection=None):
    """For one statement that may be refused (a unique row): a savepoint inside a caller's transaction, so the
    refusal leaves the caller's work usable; nothing outside one, where the statement commits on its own and a
    BEGIN and a COMMIT would only add two round trips."""
    connection = connection or default_connection
    return transaction.atomic(using=connection.alias) if connection.in_atomic_block else contextlib.nullcontext()


def _close_old_connections_around_task(task=None, **kwargs):
    # An eager task runs inside its caller (a request, a test's transaction): the caller owns the connection.
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


def keep_connections_across_tasks() -> None:
    """Celery's Django fixup closes every database connection before and after each task unless
    ``CELERY_DB_REUSE_MAX`` says otherwise (settings set it out of reach), so each task paid for a new PostgreSQL
    connection: a backend forked, authenticated, its caches cold, about as much CPU as an order confirmation
    itself. A task is treated like a request instead: before and after it, a connection past ``CONN_MAX_AGE``,
    broken or left outside autocommit is closed (what Django does around every request), and a healthy one kept."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_close_old_connections_around_task, weak=False)
    task_postrun.connect(_close_old_connections_around_task, weak=False)
