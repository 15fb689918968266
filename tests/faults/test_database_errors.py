"""A database that cannot be reached answers 503 with Retry-After, from a view or from a middleware, not 500.
(A real PostgreSQL restart under load is the drill bench/drill_postgres_restart.py.)"""

import pytest
from django.db import OperationalError
from django.test import Client

from shop import header, views
from shop.sessions import SessionStore


def unreachable(*args, **kwargs):
    raise OperationalError("connection to server at \"127.0.0.1\", port 5432 failed: Connection refused")


def session_unreachable(monkeypatch):
    """The session's query fails: Django's own load, and the header's read of session, user and wallet."""
    monkeypatch.setattr(SessionStore, "load", unreachable)
    monkeypatch.setattr(header, "signed_in_row", unreachable)


@pytest.fixture
def client_without_reraise(db):
    return Client(raise_request_exception=False)


def test_a_view_whose_query_fails_answers_503_with_a_page_that_needs_no_database(client_without_reraise,
                                                                                 monkeypatch):
    monkeypatch.setattr(views, "catalog_page", unreachable)

    response = client_without_reraise.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"right back" in response.content
    assert response["X-Request-ID"]


def test_a_middleware_whose_query_fails_answers_503_too(client_without_reraise, shopper, monkeypatch):
    client_without_reraise.force_login(shopper)
    session_unreachable(monkeypatch)

    response = client_without_reraise.get("/orders/", headers={"HX-Request": "true"})

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_stay_500(client_without_reraise, monkeypatch):
    monkeypatch.setattr(views, "catalog_page", lambda **kwargs: 1 / 0)

    response = client_without_reraise.get("/")

    assert response.status_code == 500
    assert b"Something went wrong" in response.content


@pytest.mark.parametrize("path, patch", [("/", "view"), ("/orders/", "session")])
def test_every_error_page_carries_the_content_security_policy(client_without_reraise, shopper, monkeypatch, path,
                                                             patch):
    client_without_reraise.force_login(shopper)
    if patch == "view":
        monkeypatch.setattr(views, "catalog_page", unreachable)
    else:
        session_unreachable(monkeypatch)

    unavailable = client_without_reraise.get(path)
    monkeypatch.setattr(views, "catalog_page", lambda **kwargs: 1 / 0)
    failed = client_without_reraise.get("/") if patch == "view" else None
    missing = client_without_reraise.get("/no/such/page/") if patch == "view" else None

    assert unavailable.status_code == 503 and "default-src 'self'" in unavailable["Content-Security-Policy"]
    for response in filter(None, (failed, missing)):
        assert response.status_code in (404, 500)
        assert "default-src 'self'" in response["Content-Security-Policy"]
