"""Pages whose fragments poll or refresh announce status changes through a status region that stays in place
(``data-live-region`` with ``hx-preserve``; shop.js writes only changed text into it), not through an
``aria-live`` on the whole polled fragment."""

import re
import uuid

import pytest
from django.urls import reverse

from orders.services.card import order_checkout_start
from orders.services.cart import cart_add
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def opening_tag(html: str, element_id: str) -> str:
    return re.search(rf'<\w+ id="{element_id}"[^>]*>', html).group(0)


def test_a_pending_orders_status_line_is_the_region_not_its_polled_section(shopper, shopper_client):
    cart_add(user=shopper, product_id=ProductFactory().pk)
    order = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:{uuid.uuid4()}").order
    url = reverse("orders:detail", args=[order.pk])

    for html in (shopper_client.get(url).content.decode(), shopper_client.get(url, headers=HTMX).content.decode()):
        section = opening_tag(html, "order-status")
        line = opening_tag(html, "order-status-line")
        assert 'hx-trigger="every 2s"' in section and "aria-live" not in section
        assert all(part in line for part in ("data-live-region", "hx-preserve", 'aria-live="polite"'))
        assert "Pending payment" in html[html.index(line):html.index("</p>", html.index(line))]


def test_the_points_results_headline_is_the_region(shopper_client, session):
    html = shopper_client.get(reverse("points:result", args=[session.pk])).content.decode()

    section = opening_tag(html, "checkout-status")
    headline = opening_tag(html, "checkout-headline")
    assert "aria-live" not in section and 'hx-sync="this:replace"' in section
    assert all(part in headline for part in ("data-live-region", "hx-preserve", 'aria-live="polite"'))
