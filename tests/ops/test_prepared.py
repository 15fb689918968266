"""Queries prepared once per process (ops.prepared): the same rows as the queryset they were built from, each
request's own values, and a refusal for values that do not reach the SQL as given."""

import uuid

import pytest
from django.db import connection
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext

from ops.prepared import PreparedQuery, PreparedQueryError
from orders.models import CartItem
from orders.selectors import catalog_page, product_with_ownership, with_ownership
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from shop.models import Product
from shop.selectors import catalog_products
from tests.factories import ProductFactory, ShopperFactory
from wallet.services import wallet_credit


def _without_state(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


def _own(user, product):
    wallet_credit(user=user, points=product.price_points, kind="adjustment", idempotency_key=f"own:{product.pk}",
                  description="Points to own a product")
    cart_add(user=user, product_id=product.pk)
    order_pay_with_points(user=user, idempotency_key=str(uuid.uuid4()))


@pytest.mark.django_db
def test_rows_are_the_querysets_rows_with_each_requests_own_values():
    products = ProductFactory.create_batch(4)
    first, second = ShopperFactory(), ShopperFactory()
    _own(first, products[1])
    _own(second, products[2])
    by_title = PreparedQuery(lambda *, user_id: with_ownership(catalog_products(), user=_User(user_id)),
                             user_id=int)

    for shopper in (first, second, first):
        expected = list(with_ownership(catalog_products(), user=shopper))
        found = by_title.rows(user_id=shopper.pk)
        assert [_without_state(row) for row in found] == [_without_state(row) for row in expected]
        assert [row.owned for row in found].count(True) == 1


class _User:
    is_authenticated = True

    def __init__(self, pk):
        self.pk = pk


@pytest.mark.django_db
def test_related_rows_come_with_their_row():
    shopper = ShopperFactory()
    product = ProductFactory()
    cart_add(user=shopper, product_id=product.pk)
    items = PreparedQuery(lambda *, user_id: CartItem.objects.filter(user_id=user_id).select_related("product"),
                          user_id=int)

    [item] = items.rows(user_id=shopper.pk)

    with CaptureQueriesContext(connection) as queries:
        assert item.product.title == product.title
    assert len(queries) == 0
    assert items.rows(user_id=shopper.pk + 1000) == []


@pytest.mark.django_db
def test_a_value_that_does_not_reach_the_sql_as_given_is_refused():
    contains = PreparedQuery(lambda *, text: Product.objects.filter(title__icontains=text), text=str)
    unused = PreparedQuery(lambda *, text: Product.objects.all(), text=str)
    transformed = PreparedQuery(lambda *, text: Product.objects.annotate(shout=Upper("title")).filter(shout=text),
                                text=str)

    with pytest.raises(PreparedQueryError, match="transformed"):
        contains.rows(text="aurora")
    with pytest.raises(PreparedQueryError, match="not found"):
        unused.rows(text="aurora")
    assert transformed.rows(text="NOTHING") == []  # compared as given: prepared
    with pytest.raises(TypeError, match="expected the values"):
        transformed.rows(other="x")


@pytest.mark.django_db
def test_the_catalog_and_product_pages_read_through_prepared_queries(shopper):
    products = ProductFactory.create_batch(3)
    _own(shopper, products[0])

    signed_in = catalog_page(user=shopper, number="1", page_size=2)
    deep = catalog_page(user=shopper, number="99", page_size=2)

    assert [row.pk for row in signed_in] == [p.pk for p in sorted(products, key=lambda p: p.title)][:2]
    assert signed_in.has_next and not deep.rows
    assert {row.pk: row.owned for row in catalog_page(user=shopper, number=None, page_size=10)} == {
        products[0].pk: True, products[1].pk: False, products[2].pk: False}
    assert product_with_ownership(slug=products[0].slug, user=shopper).owned is True
    assert product_with_ownership(slug=products[1].slug, user=shopper).owned is False
    assert product_with_ownership(slug="no-such-product", user=shopper) is None


def test_values_are_sent_as_each_database_takes_them():
    # make run's SQLite has no UUID or time-zone types: the compiler sends hex digits and text there, so a
    # placeholder is looked for, and a value sent, in that form (PostgreSQL takes both as they are).
    import datetime
    import uuid

    from django.db.utils import ConnectionHandler

    from ops.prepared import _as_sent

    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})["default"]
    value, moment = uuid.uuid4(), datetime.datetime(2026, 11, 27, 12, 30, tzinfo=datetime.UTC)

    assert _as_sent(value, sqlite) == value.hex
    assert _as_sent(moment, sqlite) == sqlite.ops.adapt_datetimefield_value(moment) == "2026-11-27 12:30:00"
    assert _as_sent(value, connection) == value and _as_sent(moment, connection) == moment
    assert _as_sent(7, sqlite) == 7 and _as_sent("slug", sqlite) == "slug"
