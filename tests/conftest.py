import pytest

from ops import fragments
from ops.cache import shared_flag_lower
from orders.services.notifications import RECEIPTS_QUEUED
from stripe_fake.transport import FakeStripeHTTPClient
from tests.factories import TEST_PASSWORD, PointsPackageFactory, StaffFactory, UserFactory
from tests.stripe_fake import delivery
from wallet.services import points_purchase_start


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def shopper_client(client, shopper):
    client.force_login(shopper)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def package(db):
    return PointsPackageFactory(name="Premium", points=550, price_cents=3999)


@pytest.fixture
def other_package(db):
    return PointsPackageFactory(name="Basic", points=100, price_cents=999)


@pytest.fixture
def session(shopper, package):
    """The shopper's checkout session for ``package``, started as the points pages start it: active, no Stripe
    session yet."""
    return points_purchase_start(user=shopper, package=package).session


# --- receipts ---------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_receipts_task_on_its_way():
    """No ``send_due_receipts`` counted as queued by an earlier test (its flag lives in the shared Redis, and no
    worker ran the task to lower it): a payment queues the task, as it would with a worker keeping up."""
    shared_flag_lower(RECEIPTS_QUEUED)


# --- the fake Stripe (stripe_fake/), for every app's tests ----------------------------------------------------

@pytest.fixture(autouse=True)
def fake_stripe():
    """The fake Stripe's failure switches, cleared around every test (its data lives in the test database)."""
    FakeStripeHTTPClient.reset()
    yield FakeStripeHTTPClient
    FakeStripeHTTPClient.reset()


@pytest.fixture
def webhooks(settings):
    """The fake Stripe's events, delivered at once through the test client as signed POSTs to the webhook endpoint;
    yields what was delivered, [(event type, HTTP status), ...]."""
    settings.STRIPE_FAKE_WEBHOOK_DELIVERY = "tests.stripe_fake.delivery.deliver_through_test_client"
    delivery.DELIVERED.clear()
    yield delivery.DELIVERED
    delivery.DELIVERED.clear()


@pytest.fixture
def held_webhooks(settings):
    """The fake Stripe's events, kept instead of delivered: a lost webhook, or one the test delivers itself when it
    wants. Yields the held events, oldest first (``HeldEvents`` in tests/stripe_fake/delivery.py): each one is the
    Stripe event (``event["type"]``), to POST signed anew with ``tests.stripe_events.post_event``, and keeps where
    and how the fake signed it, for ``held_webhooks.post(held_webhooks.take(event_type))``: as Stripe sends it,
    over HTTP (to a live server: the browser tests send the fake's events to theirs).

    The one fixture for every test that holds the fake's events; ``webhooks`` is the one that delivers them."""
    settings.STRIPE_FAKE_WEBHOOK_DELIVERY = "tests.stripe_fake.delivery.hold"
    delivery.HELD.clear()
    yield delivery.HELD
    delivery.HELD.clear()


# --- object storage (tests/s3.py): moto's S3 server, one per run, a fresh bucket per test ---------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    from tests.s3 import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def object_storage(settings, s3_server):
    """Product files on the S3 server for this test (the bucket's name is returned)."""
    from tests.s3 import object_storage_settings

    bucket = s3_server.new_bucket()
    with object_storage_settings(settings, s3_server, bucket):
        yield bucket


@pytest.fixture(params=["filesystem", "object storage"])
def product_storage(request):
    """Run the test once on the filesystem and once on object storage; request it before the products."""
    if request.param == "object storage":
        request.getfixturevalue("object_storage")
    return request.param


@pytest.fixture
def renders(monkeypatch):
    """The shared fragments rendered (cache misses, ops/fragments.py) since the test began, by template name."""
    counted = []
    real_render = fragments._render

    def counting(template_name, parts, context):
        counted.append(template_name)
        return real_render(template_name, parts, context)

    monkeypatch.setattr(fragments, "_render", counting)
    return counted


@pytest.fixture
def empty_fragment_caches():
    """The shared-fragment caches (Redis and this process's memory tier) empty before and after the test."""
    from django.core.cache import cache

    from ops import fragments

    cache.clear()
    fragments.local_cache().clear()
    yield
    fragments.local_cache().clear()
