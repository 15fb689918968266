"""``/healthz`` for load balancers and the smoke test: is the database reachable, is the broker reachable.

Only the database decides the status code: without it no page can be served (503, take this process out of
rotation), while without Redis pages still render from PostgreSQL and queued tasks wait in the outbox
(ops/outbox.py), so a broker outage is reported as ``degraded`` with 200 -- taking every web process out of the
load balancer because Redis is down would turn a partial outage into a full one.

The broker is the project's Celery app (config/celery.py), reached as ``current_app``: ops is the bottom layer and
does not import the project package; Celery's Django fix-up makes that app the default in every thread."""

from celery import current_app
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


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_problem(), "broker": _broker_problem()}
    body = {name: problem or "ok" for name, problem in checks.items()}
    if checks["database"]:
        body["status"] = "unavailable: " + ", ".join(name for name, problem in checks.items() if problem)
        return JsonResponse(body, status=503)
    body["status"] = "degraded: broker" if checks["broker"] else "ok"
    return JsonResponse(body, status=200)
