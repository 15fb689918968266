"""Product files on object storage (moto's S3 server, tests/s3.py): what staff upload through the admin reaches the
bucket in parts without the file ever being held in memory whole; full files are private, previews public with a
long cache."""

import hashlib
import io
import math
import os
import tracemalloc

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import reverse
from PIL import Image

from config.storage import PREVIEWS_CACHE_CONTROL, previews
from shop.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


class MemoryPeakFromHere(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: notes the memory in use when the file's part of the request body starts being
    parsed and forgets the peak so far, so that the test's and the test client's own copies of the file (made before
    the view runs) do not count."""

    in_use_at_start = None

    def new_file(self, *args, **kwargs):
        if tracemalloc.is_tracing() and args[0] == "image":
            tracemalloc.reset_peak()
            MemoryPeakFromHere.in_use_at_start = tracemalloc.get_traced_memory()[0]

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None


def _large_png(size_bytes: int) -> bytes:
    """A valid PNG of random pixels, stored uncompressed: about ``size_bytes`` long."""
    side = int((size_bytes / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def _grants(client, bucket, key) -> set[tuple[str, str]]:
    acl = client.get_object_acl(Bucket=bucket, Key=key)
    return {(grant["Grantee"].get("URI", grant["Grantee"].get("ID", "")), grant["Permission"]) for grant in acl["Grants"]}


def test_an_admin_upload_goes_to_the_bucket_in_parts_never_whole_in_memory(staff_client, object_storage, s3_server,
                                                                          settings):
    settings.FILE_UPLOAD_HANDLERS = ["tests.shop.test_object_storage.MemoryPeakFromHere",
                                     *settings.FILE_UPLOAD_HANDLERS]
    full = _large_png(48 * MB)
    preview = _large_png(30_000)
    form = {"title": "Big Harbour", "slug": "big-harbour", "description": "", "price_cents": "999",
            "price_points": "900", "currency": "usd", "is_active": "on", "stock": "",
            "image": _named(full, "big-harbour.png"), "preview": _named(preview, "big-harbour-small.png")}

    # Both storages' S3 clients made before measuring: loading botocore's model of S3 costs ~12 MB each, once.
    assert not default_storage.exists("products/big-harbour.png") and not previews.exists("previews/x.png")
    tracemalloc.start()
    try:
        response = staff_client.post(reverse("admin:shop_product_add"), form)
        peak = tracemalloc.get_traced_memory()[1] - MemoryPeakFromHere.in_use_at_start
    finally:
        tracemalloc.stop()

    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(slug="big-harbour")
    client = s3_server.client()
    stored = client.get_object(Bucket=object_storage, Key=product.image.name)
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(full).digest()
    # Multipart uploads have an ETag "<hash>-<number of parts>": the file went in parts of 8 MB.
    assert stored["ETag"].strip('"').endswith(f"-{math.ceil(len(full) / (8 * MB))}")
    # Django spooled the upload to a temporary file and boto3 sent it from there one part at a time: the shop's
    # memory grew by about one part (8 MB), whatever the file's size.
    assert peak < 16 * MB, f"memory grew by {peak / MB:.1f} MB for a {len(full) / MB:.0f} MB upload"


def _named(content: bytes, name: str):
    file = io.BytesIO(content)
    file.name = name
    return file


def test_full_files_are_private_and_previews_public_with_a_long_cache(object_storage, s3_server):
    product = ProductFactory()
    client = s3_server.client()

    # then: the full file has no grant for anyone but its owner, and an anonymous request is refused
    assert not any(grantee == ALL_USERS for grantee, _ in _grants(client, object_storage, product.image.name))
    assert "X-Amz-Signature" in product.image.url  # a URL of it is only ever a signed one
    anonymous = requests.get(f"{s3_server.endpoint}/{object_storage}/{product.image.name}", timeout=10)
    assert anonymous.status_code == 403
    assert client.head_object(Bucket=object_storage, Key=product.image.name)["CacheControl"] == "private, no-store"

    # then: the preview is readable by all, at a plain URL, cached for a year
    assert (ALL_USERS, "READ") in _grants(client, object_storage, product.preview.name)
    assert product.preview.url == f"{s3_server.endpoint}/{object_storage}/{product.preview.name}"
    public = requests.get(product.preview.url, timeout=10)
    assert public.status_code == 200 and public.headers["Cache-Control"] == PREVIEWS_CACHE_CONTROL
    assert public.content == product.preview.open("rb").read()


def test_a_new_upload_never_replaces_a_cached_preview(object_storage):
    first, second = ProductFactory(), ProductFactory()

    assert first.preview.name != second.preview.name  # both uploaded as preview.jpg


@pytest.mark.parametrize("product_storage", ["filesystem", "object storage"], indirect=True)
def test_the_catalog_shows_previews_from_their_storage(client, product_storage, s3_server):
    product = ProductFactory(title="Harbour Lights")

    page = client.get(reverse("shop:catalog")).content.decode()

    assert f'src="{product.preview.url}"' in page
    assert product.preview.url.startswith(s3_server.endpoint if product_storage == "object storage" else "/media/")
