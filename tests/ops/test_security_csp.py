"""Content Security Policy: no inline scripts or styles in the shop's pages, and the policy says so."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import reverse

from tests.factories import PointsPackageFactory, ProductFactory

REPO = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(rb"""\sstyle\s*=\s*["']""", re.IGNORECASE)
EVENT_HANDLER = re.compile(rb"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.fixture
def catalog(db):
    product = ProductFactory(title="Harbour Lights")
    PointsPackageFactory(name="Premium")
    return product


@pytest.mark.parametrize("path, signed_in", [
    ("/", True), ("/points/", True), ("/product", True), ("/wallet/", True), ("/cart/", True), ("/orders/", True),
    ("/checkout/points/", True), ("/accounts/password/", True), ("/accounts/login/", False),
    ("/accounts/signup/", False), ("/", False),
])
def test_shop_pages_carry_a_policy_without_unsafe_inline_and_have_no_inline_code(client, shopper, catalog, path,
                                                                                 signed_in):
    if signed_in:
        client.force_login(shopper)
    if path == "/product":
        path = reverse("shop:product", args=[catalog.slug])

    response = client.get(path)

    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert not INLINE_SCRIPT.search(response.content)
    assert not STYLE_ATTRIBUTE.search(response.content)
    assert not EVENT_HANDLER.search(response.content)


def template_folders() -> list[Path]:
    """The project's templates and those of its own apps (the demo Stripe's hosted page lives in its app)."""
    paths = [Path(app.path) for app in apps.get_app_configs()]
    return [REPO / "templates"] + [path / "templates" for path in paths
                                   if path.is_relative_to(REPO) and ".venv" not in path.relative_to(REPO).parts]


def test_no_template_has_inline_scripts_styles_or_event_handlers():
    offenders = []
    for folder in template_folders():
        for template in folder.rglob("*.html"):
            if template.relative_to(folder).parts[0] == "admin":
                continue  # admin pages get a policy of their own (test below)
            text = template.read_bytes()
            # Mail (templates in an email/ folder) is read by mail programs, which ignore style sheets: inline
            # styles are its only way; no script or handler there either. The demo mailbox frames it under a
            # policy of its own (tests/demo_mailbox).
            is_mail = "email" in template.relative_to(folder).parts[:-1]
            styled = STYLE_ATTRIBUTE.search(text) or b"<style" in text.lower()
            if INLINE_SCRIPT.search(text) or EVENT_HANDLER.search(text) or (styled and not is_mail):
                offenders.append(str(template.relative_to(REPO)))

    assert offenders == []
    assert REPO / "stripe_fake" / "templates" in template_folders()  # the test settings install the demo app


def test_the_admin_may_use_style_attributes_but_no_inline_scripts(staff_client):
    response = staff_client.get(reverse("admin:index"))

    policy = directives(response)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]
    assert not INLINE_SCRIPT.search(response.content)


def test_error_pages_carry_the_policy_too(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert directives(response)["script-src"] == ["'self'"]


def test_the_server_error_page_has_no_inline_style(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert not STYLE_ATTRIBUTE.search(response.content)
    assert b"shop.css" in response.content
