import json

from django.urls import reverse
from kombu import Connection

from config.celery import app as celery_app


def test_healthz_is_ok_with_database_and_broker_up(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "broker": "ok", "cache": "ok", "status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_names_the_broker_when_it_is_down_but_stays_in_rotation(client, db, monkeypatch):
    # Point the check at a port where no broker listens. Pages still render from PostgreSQL and tasks wait in the
    # outbox, so the load balancer must keep sending traffic: 200, "degraded".
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["database"] == "ok"
    assert body["broker"].startswith("unreachable")
    assert body["status"] == "degraded: broker"


def test_healthz_is_unavailable_without_the_database(client, db, monkeypatch):
    from ops import health

    monkeypatch.setattr(health, "_database_problem", lambda: "unreachable: OperationalError")

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert json.loads(response.content)["status"] == "unavailable: database"


def test_healthz_names_the_cache_when_redis_does_not_answer_but_stays_in_rotation(client, db, settings):
    settings.CACHES = {**settings.CACHES, "default": {
        "BACKEND": "ops.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["cache"].startswith("unreachable") and body["broker"] == "ok"
    assert body["status"] == "degraded: cache"
