""""Your downloads": one row per product owned, newest first, fresh signed links, keyset pages, a constant number
of queries; kept in step with orders (completed, refunded, disputes); owned products on the product page and the
catalog."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import LibraryEntry, Order, OrderItem
from orders.selectors import library_for_shopper
from orders.services.disputes import order_dispute_close, order_dispute_open
from orders.services.library import library_sync_order
from orders.services.refunds import order_refund_points
from tests.factories import OrderFactory, ProductFactory, UserFactory, paid_card_order
from tests.orders.helpers import buy_with_points


def titles(response) -> list[str]:
    return re.findall(r'<li class="card library-entry" id="product-\d+">.*?<h2 class="card-title">(?:<a [^>]*>)?'
                      r'([^<]+)<', response.content.decode(), re.S)


def test_the_library_lists_each_product_bought_newest_first_with_fresh_links(shopper_client, shopper):
    first, second = ProductFactory(title="Harbour Lights"), ProductFactory(title="Desert Bloom")
    buy_with_points(shopper, first)
    buy_with_points(shopper, second)
    buy_with_points(UserFactory(), ProductFactory(title="Someone Else's"))

    response = shopper_client.get(reverse("orders:library"))

    assert response.status_code == 200
    assert titles(response) == ["Desert Bloom", "Harbour Lights"]
    links = re.findall(r'href="(/downloads/[^"]+)"', response.content.decode())
    assert len(links) == 2
    download = shopper_client.get(links[0])
    assert download.status_code in (200, 302)  # the file itself, or a redirect to object storage
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_one_row_per_product_even_when_bought_twice_before_the_rule(shopper, shopper_client):
    picture = ProductFactory(title="Twice")
    older = buy_with_points(shopper, picture)
    # an order from before the one-copy rule, for the same product
    newer = OrderFactory(user=shopper, payment_method="points", total_points=10)
    OrderItem.objects.create(order=newer, product=picture, title="Twice", unit_price_cents=1, unit_price_points=10,
                             quantity=2)
    library_sync_order(order=newer)

    assert titles(shopper_client.get(reverse("orders:library"))) == ["Twice"]
    # refunding the order that delivers it leaves it delivered by the other one
    order_refund_points(order_id=older.pk, staff_user=None, reason="Duplicate")
    assert LibraryEntry.objects.get(user=shopper).order_item.order_id == newer.pk


def test_a_refunded_order_leaves_the_library(shopper):
    picture = ProductFactory()
    order = buy_with_points(shopper, picture)

    order_refund_points(order_id=order.pk, staff_user=None, reason="Asked for it")

    assert not LibraryEntry.objects.filter(user=shopper).exists()
    assert library_for_shopper(user=shopper).rows == []


@pytest.fixture
def card_order(shopper):
    order = paid_card_order(user=shopper, total_cents=1500)
    OrderItem.objects.create(order=order, product=ProductFactory(title="Disputed Print"), title="Disputed Print",
                             unit_price_cents=1500, unit_price_points=1, quantity=1)
    library_sync_order(order=order)
    return order


def _dispute():
    return SimpleNamespace(stripe_dispute_id="dp_1", amount_cents=1500, currency="usd", reason="fraudulent")


def test_an_open_dispute_suspends_the_download_in_the_library_and_a_lost_one_removes_it(shopper_client, card_order):
    session = card_order.checkout_session
    order_dispute_open(checkout_session=session, dispute=_dispute(), now=timezone.now())

    suspended = shopper_client.get(reverse("orders:library")).content.decode()
    assert "Disputed Print" in suspended and "download is suspended" in suspended
    assert "/downloads/" not in suspended

    order_dispute_close(checkout_session=session, dispute=_dispute(), won=False, now=timezone.now())
    assert "Disputed Print" not in shopper_client.get(reverse("orders:library")).content.decode()


def test_a_dispute_won_brings_the_download_back(shopper_client, card_order):
    session = card_order.checkout_session
    order_dispute_open(checkout_session=session, dispute=_dispute(), now=timezone.now())
    order_dispute_close(checkout_session=session, dispute=_dispute(), won=True, now=timezone.now())

    page = shopper_client.get(reverse("orders:library")).content.decode()

    assert "Download Disputed Print" in page


def test_pages_of_the_library_are_keyset_and_cost_the_same_queries_whatever_the_size(
        shopper_client, shopper, django_assert_max_num_queries):
    for n in range(45):
        product = ProductFactory(title=f"Print {n:02d}")
        order = buy_with_points(shopper, product)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=n))
        LibraryEntry.objects.filter(order_item__order=order).update(created_at=timezone.now() - timedelta(hours=n))

    with django_assert_max_num_queries(2):  # the header's query (session, user, badges) and the page's own
        first = shopper_client.get(reverse("orders:library"))
    cursor = re.search(r'href="\?before=([\w-]+)"', first.content.decode()).group(1)
    with django_assert_max_num_queries(2):
        second = shopper_client.get(reverse("orders:library"), {"before": cursor})
    cursor = re.search(r'href="\?before=([\w-]+)"', second.content.decode()).group(1)
    third = shopper_client.get(reverse("orders:library"), {"before": cursor})

    assert titles(first) == [f"Print {n:02d}" for n in range(20)]
    assert titles(second) == [f"Print {n:02d}" for n in range(20, 40)]
    assert titles(third) == [f"Print {n:02d}" for n in range(40, 45)]
    assert 'href="?before=' not in third.content.decode()


@pytest.mark.parametrize("cursor", ["nonsense", "1-x", "-"])
def test_a_broken_cursor_starts_from_the_newest(shopper_client, shopper, cursor):
    buy_with_points(shopper, ProductFactory(title="Only One"))

    assert titles(shopper_client.get(reverse("orders:library"), {"before": cursor})) == ["Only One"]


def test_an_empty_library_says_where_files_come_from(shopper_client):
    page = shopper_client.get(reverse("orders:library")).content.decode()

    assert "Nothing here yet" in page


def test_the_library_is_linked_in_the_header_for_signed_in_shoppers(client, shopper):
    assert reverse("orders:library") not in client.get(reverse("shop:catalog")).content.decode()
    client.force_login(shopper)
    assert f'href="{reverse("orders:library")}"' in client.get(reverse("shop:catalog")).content.decode()


def test_signed_out_the_library_asks_to_log_in(db, client):
    response = client.get(reverse("orders:library"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- owned products on the storefront --------------------------------------------------------------------------

def test_an_owned_product_offers_its_download_instead_of_buying(shopper_client, shopper):
    owned, other = ProductFactory(title="Mine Now"), ProductFactory(title="Not Yet")
    buy_with_points(shopper, owned)

    page = shopper_client.get(owned.get_absolute_url()).content.decode()
    assert "You own this" in page and re.search(r'href="/downloads/[^"]+"[^>]*>Download</a>', page)
    assert "Add to cart" not in page and "Buy now" not in page
    not_owned = shopper_client.get(other.get_absolute_url()).content.decode()
    assert "You own this" not in not_owned and "Add to cart" in not_owned and "Buy now with" in not_owned


def test_the_catalog_marks_owned_products_in_one_query(shopper_client, shopper, django_assert_max_num_queries):
    owned = ProductFactory(title="Aa Mine")
    ProductFactory.create_batch(5)
    buy_with_points(shopper, owned)

    with django_assert_max_num_queries(3):  # the header's query, the catalog's page and which of it is owned
        page = shopper_client.get(reverse("shop:catalog")).content.decode()

    assert page.count("You own this") == 1
    assert f'href="{reverse("orders:library")}#product-{owned.pk}"' in page


def test_signed_out_the_product_page_offers_buy_now_through_log_in(client, db):
    product = ProductFactory()

    page = client.get(product.get_absolute_url()).content.decode()

    assert "Buy now with" in page and "Log in to buy" in page and "You own this" not in page
