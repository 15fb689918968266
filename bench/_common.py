"""Shared set-up for the bench scripts: a throw-away PostgreSQL database on 127.0.0.1 that the script creates
and drops itself, and Django configured against it (the test settings: PostgreSQL and Redis, DEBUG off so
that no query log slows the figures down). Running this file does nothing."""

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = {"host": "127.0.0.1", "port": 5432, "user": "root"}


def bench_environment(*, database: str, redis_db: int, settings: str = "tests.settings") -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": settings,
        "DATABASE_URL": f"postgres://{PG_SERVER['user']}@{PG_SERVER['host']}:{PG_SERVER['port']}/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "LOG_LEVEL": "WARNING",
    }


def _admin_connection():
    import psycopg

    return psycopg.connect(dbname="postgres", autocommit=True, **PG_SERVER)


def create_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw_connection(name: str):
    import psycopg

    return psycopg.connect(dbname=name, **PG_SERVER)


@contextlib.contextmanager
def django_on_fresh_database(*, database: str, redis_db: int, settings: str = "tests.settings"):
    """Create ``database``, point Django at it, migrate; drop it afterwards whatever happens (unless
    BENCH_KEEP_DATABASE is set, to look at what a run left behind)."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(bench_environment(database=database, redis_db=redis_db, settings=settings))
    create_database(database)
    try:
        import django
        from django.conf import settings as django_settings

        django.setup()
        django_settings.DEBUG = False  # the test settings run with DEBUG on for demo payments; no query log here
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            drop_database(database)


def wait_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


def print_row(label: str, figures: list[float], baselines: list[float], unit: str,
              target: float | None) -> bool:
    """Median figure and baseline, and the median of the per-round ratios: each round measures both back to
    back, so a neighbour's load on this shared machine hits a round's pair alike instead of skewing one side.
    Without a target the row is for information only."""
    ratio = statistics.median(f / b for f, b in zip(figures, baselines, strict=True) if b)
    verdict = "(for comparison)" if target is None else (
        f"(target >= {target}) {'ok' if ratio >= target else 'BELOW TARGET'}")
    print(f"  {label:<36} {statistics.median(figures):>8.0f} {unit}   baseline {statistics.median(baselines):>8.0f}"
          f" {unit}   ratio {ratio:.2f} {verdict}")
    return target is None or ratio >= target
