import pytest
from django.db import IntegrityError, connection, transaction

from ops.db import atomic_unless_autocommit
from orders.models import CartItem
from tests.factories import ProductFactory, ShopperFactory


def _add_twice(user, product):
    CartItem.objects.create(user=user, product=product)
    with pytest.raises(IntegrityError):
        with atomic_unless_autocommit():
            CartItem.objects.create(user=user, product=product)  # the cart's unique row refuses it


def test_inside_a_callers_transaction_a_refused_statement_leaves_it_usable(db):
    user, product = ShopperFactory(), ProductFactory()

    with transaction.atomic():
        _add_twice(user, product)
        assert CartItem.objects.filter(user=user).count() == 1  # not "current transaction is aborted"


def test_outside_a_transaction_the_statement_commits_on_its_own(transactional_db, django_assert_num_queries):
    user, product = ShopperFactory(), ProductFactory()

    assert not connection.in_atomic_block
    with django_assert_num_queries(1):  # the INSERT alone: no BEGIN, no COMMIT
        with atomic_unless_autocommit():
            CartItem.objects.create(user=user, product=product)
    with django_assert_num_queries(1), pytest.raises(IntegrityError):
        with atomic_unless_autocommit():
            CartItem.objects.create(user=user, product=product)  # refused, and nothing else to undo
    assert CartItem.objects.filter(user=user).count() == 1
