"""A database that cannot be reached answers 503 with Retry-After, from a view or from a middleware, not 500.
(A real PostgreSQL restart under load is the drill bench/drill_postgres_restart.py.)"""

import pytest
from django.db import OperationalError
from django.test import Client

from shop import views
from shop.sessions import SessionStore


def unreachable(*args, **kwargs):
    raise OperationalError("connection to server at \"127.0.0.1\", port 5432 failed: Connection refused")


@pytest.fixture
def client_without_reraise(db):
    return Client(raise_request_exception=False)


def test_a_view_whose_query_fails_answers_503_with_a_page_that_needs_no_database(client_without_reraise,
                                                                                 monkeypatch):
    monkeypatch.setattr(views, "catalog_products", unreachable)

    response = client_without_reraise.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"right back" in response.content
    assert response["X-Request-ID"]


def test_a_middleware_whose_query_fails_answers_503_too(client_without_reraise, shopper, monkeypatch):
    client_without_reraise.force_login(shopper)
    monkeypatch.setattr(SessionStore, "load", unreachable)

    response = client_without_reraise.get("/orders/", headers={"HX-Request": "true"})

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_stay_500(client_without_reraise, monkeypatch):
    monkeypatch.setattr(views, "catalog_products", lambda: 1 / 0)

    response = client_without_reraise.get("/")

    assert response.status_code == 500
    assert b"Something went wrong" in response.content
