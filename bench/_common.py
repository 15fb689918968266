"""Shared set-up for the bench scripts: a throw-away PostgreSQL database on 127.0.0.1 that the script creates
and drops itself, and Django configured against it (the test settings: PostgreSQL and Redis, DEBUG off so
that no query log slows the figures down). Running this file does nothing.

Two runs at once (two people, or two worktrees, on one machine) must not drop each other's database or flush
each other's Redis: every database name carries the run's id (``BENCH_RUN_ID``, set by ``make bench`` for all
its benches, else one per script), and each script claims a Redis database nobody uses (``claim_redis_db``)."""

import atexit
import contextlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = {"host": "127.0.0.1", "port": 5432, "user": "root"}
REDIS = {"host": "127.0.0.1", "port": 6379}
RUN_ID = "".join(char for char in os.environ.get("BENCH_RUN_ID", "") if char.isalnum()).lower()[:16] \
    or uuid.uuid4().hex[:8]
_CLAIM_KEY = "bench:claimed-by"
_CLAIM_SECONDS = 6 * 3600
_CLAIMED_ENV = "BENCH_CLAIMED_REDIS_DB"


def run_database(base: str) -> str:
    """``base`` with this run's id and this process's: unique to the run, recognisable in ``\\l``. A bench's worker
    processes (spawned: they import the bench again) get their parent's name from the environment, not one with
    their own process id -- a database that does not exist."""
    inherited = f"BENCH_DATABASE_{base.upper()}"
    if inherited not in os.environ:
        os.environ[inherited] = f"{base}_{RUN_ID}_{os.getpid()}"
    return os.environ[inherited]


def claim_redis_db() -> int:
    """A Redis database (of the default 16) that is empty, claimed by this process with a key set only if absent
    (two runs cannot claim the same one), released and emptied when the process exits.

    A bench's worker processes share their parent's claim: a spawned worker imports the bench module again, and
    claiming there too took a database per worker that was never released (a pool's workers end without running
    ``atexit``) until every one of the 16 was taken. A claim whose process is gone (killed) is taken over."""
    import redis

    number, _, claimer = os.environ.get(_CLAIMED_ENV, "").partition(":")
    if claimer and int(claimer) == os.getppid():  # a worker process of the claiming bench
        return int(number)
    owner = f"{RUN_ID}:{os.getpid()}"
    for number in range(15, -1, -1):  # the tests' defaults use the low numbers: start from the top
        client = redis.Redis(db=number, **REDIS)
        _take_over_if_abandoned(client)
        if client.dbsize() != 0 or not client.set(_CLAIM_KEY, owner, nx=True, ex=_CLAIM_SECONDS):
            continue
        if client.dbsize() == 1:  # nobody wrote between the look and the claim
            atexit.register(_release_redis_db, number, owner)
            os.environ[_CLAIMED_ENV] = f"{number}:{os.getpid()}"
            return number
        client.delete(_CLAIM_KEY)
    raise SystemExit("bench: no free Redis database (all 16 hold keys); free one and run again")


def _take_over_if_abandoned(client) -> None:
    """Empty a database claimed by a bench process that no longer runs on this machine and left nothing else."""
    claim = client.get(_CLAIM_KEY)
    if claim is None or client.dbsize() != 1:
        return
    _run, _, pid = claim.decode().rpartition(":")
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        # Only if the key still names that process: a claim made meanwhile by another run stays.
        client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                    1, _CLAIM_KEY, claim)
    except (ValueError, PermissionError):
        pass


def _release_redis_db(number: int, owner: str) -> None:
    import redis

    client = redis.Redis(db=number, **REDIS)
    # Absent: the bench emptied its database itself (a cache clear is a FLUSHDB), taking the claim with it.
    if client.get(_CLAIM_KEY) in (None, owner.encode()):
        client.flushdb()


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


def copy_database(source: str, copy: str) -> None:
    """``copy`` as ``source`` is now (nobody may be connected to ``source`` meanwhile)."""
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')


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
