"""Downloads on both storages: the shop's checks (owner, paid, not refunded or disputed, link signed and unexpired)
answer as before; what a buyer's valid link answers is a presigned redirect on object storage, a header for the
web server when one fronts the filesystem, and a stream otherwise."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.urls import reverse
from django.utils import timezone

from orders.downloads import download_token
from orders.models import DisputeStatus, Order, OrderStatus
from orders.services.placement import order_pay_with_points
from tests.factories import UserFactory, give_points


@pytest.fixture
def paid_order(product_storage, filled_cart):
    give_points(filled_cart, 2000)
    return order_pay_with_points(user=filled_cart, idempotency_key="test:paid")


def download_url(order, user=None):
    return reverse("orders:download", args=[download_token(item=order.items.first(), user_id=(user or order.user).pk)])


def _full_file(order) -> bytes:
    with order.items.first().product.image.open("rb") as file:
        return file.read()


def test_the_buyer_gets_the_whole_file_as_an_attachment(client, paid_order, product_storage, settings):
    client.force_login(paid_order.user)

    response = client.get(download_url(paid_order))

    assert "no-store" in response["Cache-Control"]
    if product_storage == "filesystem":
        assert response.status_code == 200 and response.streaming
        assert response["Content-Disposition"].startswith('attachment; filename="picture-')
        assert b"".join(response.streaming_content) == _full_file(paid_order)
        return
    # On object storage: a redirect, the shop's part is over; the storage sends the file.
    assert response.status_code == 302
    signed = parse_qs(urlsplit(response["Location"]).query)
    assert signed["X-Amz-Expires"] == [str(settings.DOWNLOAD_URL_TTL)] and settings.DOWNLOAD_URL_TTL <= 10 * 60
    assert signed["response-content-disposition"][0].startswith('attachment; filename="picture-')
    transfer = requests.get(response["Location"], timeout=10)
    assert transfer.status_code == 200 and transfer.content == _full_file(paid_order)
    assert transfer.headers["Content-Disposition"].startswith('attachment; filename="picture-')
    assert transfer.headers["Content-Type"] == "image/jpeg"
    assert "no-store" in transfer.headers["Cache-Control"]


def test_another_shopper_cannot_use_a_forwarded_link(client, paid_order):
    client.force_login(UserFactory())

    response = client.get(download_url(paid_order))

    assert response.status_code == 404 and "Location" not in response


def test_an_expired_link_is_refused_before_any_redirect(client, paid_order):
    client.force_login(paid_order.user)
    url = download_url(paid_order)

    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        response = client.get(url)

    assert response.status_code == 403 and b"has expired" in response.content and "Location" not in response


def test_no_download_once_refunded_or_while_disputed(client, paid_order):
    client.force_login(paid_order.user)
    Order.objects.filter(pk=paid_order.pk).update(dispute_status=DisputeStatus.OPEN)

    assert client.get(download_url(paid_order)).status_code == 403

    Order.objects.filter(pk=paid_order.pk).update(dispute_status="", status=OrderStatus.REFUNDED)

    assert client.get(download_url(paid_order)).status_code == 404


@pytest.mark.parametrize("product_storage", ["filesystem"], indirect=True)
@pytest.mark.parametrize(("offload", "header", "expected"), [
    ("x-accel-redirect", "X-Accel-Redirect", "/protected-media/products/"),
    ("x-sendfile", "X-Sendfile", "/products/"),
])
def test_a_web_server_in_front_sends_the_file(client, paid_order, settings, offload, header, expected):
    settings.DOWNLOAD_OFFLOAD = offload
    client.force_login(paid_order.user)

    response = client.get(download_url(paid_order))

    image = paid_order.items.first().product.image
    assert response.status_code == 200 and not response.streaming and response.content == b""
    assert expected in response[header] and response[header].endswith(image.name.rsplit("/", 1)[-1])
    if offload == "x-sendfile":
        assert response[header] == image.path
    assert response["Content-Disposition"].startswith('attachment; filename="picture-')
    assert response["Content-Type"] == "image/jpeg" and "no-store" in response["Cache-Control"]
