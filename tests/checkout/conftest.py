import pytest
from django.urls import reverse

from tests.factories import PointsPackageFactory


@pytest.fixture
def package(db):
    return PointsPackageFactory(name="Premium", points=550, price_cents=3999)


@pytest.fixture
def other_package(db):
    return PointsPackageFactory(name="Basic", points=100, price_cents=999)


def start_url():
    return reverse("points:start")
