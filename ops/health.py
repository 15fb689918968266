"""``/healthz`` for load balancers and the smoke test: are the database, the broker and the cache reachable.

Only the database decides the status code: without it no page can be served (503, take this process out of
rotation), while without Redis pages still render from PostgreSQL and queued tasks wait in the outbox
(ops/outbox.py), so a broker or cache outage is reported as ``degraded`` with 200 -- taking every web process out
of the load balancer because Redis is down would turn a partial outage into a full one. (Without the cache,
sessions and balances still come from PostgreSQL; rate limits fail open or count per process: ops.ratelimits.)

The broker is the project's Celery app (config/celery.py), reached as ``current_app``: ops is the bottom layer and
does not import the project package; Celery's Django fix-up makes that app the default in every thread."""

from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

BROKER_TIMEOUT_SECONDS = 2


def _database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver error means "not reachable" to a load balancer
        return f"unreachable: {error.__class__.__name__}"
    return None


def _broker_problem() -> str | None:
    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:  # kombu raises transport-specific errors
        return f"unreachable: {error.__class__.__name__}"
    return None


def _cache_problem() -> str | None:
    problem = getattr(cache, "problem", None)  # the local-memory cache of `make run` is always there
    return problem() if problem else None


def service_problems() -> dict[str, str | None]:
    """Each service and what is wrong with it (None: fine). The staff dashboard shows the same."""
    return {"database": _database_problem(), "broker": _broker_problem(), "cache": _cache_problem()}


@never_cache
@require_GET
def healthz(request):
    checks = service_problems()
    body = {name: problem or "ok" for name, problem in checks.items()}
    failing = ", ".join(name for name, problem in checks.items() if problem)
    if checks["database"]:
        body["status"] = "unavailable: " + failing
        return JsonResponse(body, status=503)
    body["status"] = f"degraded: {failing}" if failing else "ok"
    return JsonResponse(body, status=200)
