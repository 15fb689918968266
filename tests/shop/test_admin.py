import pytest
from django.urls import reverse

from shop.models import User
from tests.factories import PointsPackageFactory, ProductFactory
from wallet.models import Wallet


@pytest.mark.parametrize("model", ["shop_user", "shop_product", "wallet_pointspackage"])
def test_staff_can_list_search_and_filter(staff_client, model):
    ProductFactory(title="Harbour Lights")
    PointsPackageFactory(name="Premium")
    url = reverse(f"admin:{model}_changelist")

    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "harbour"}).status_code == 200
    assert staff_client.get(url, {"is_active__exact": "1"}).status_code == 200


def test_product_search_finds_by_title(staff_client):
    ProductFactory(title="Harbour Lights")
    ProductFactory(title="Desert Bloom")

    response = staff_client.get(reverse("admin:shop_product_changelist"), {"q": "harbour"})

    assert b"Harbour Lights" in response.content
    assert b"Desert Bloom" not in response.content


def test_staff_adding_a_user_gives_them_a_wallet(staff_client):
    response = staff_client.post(reverse("admin:shop_user_add"), {
        "email": "new.shopper@example.com", "usable_password": "true",
        "password1": "a-long-enough-password-1", "password2": "a-long-enough-password-1",
    })

    assert response.status_code == 302, response.content
    user = User.objects.get(email="new.shopper@example.com")
    assert Wallet.objects.filter(user=user, balance=0).exists()


def test_shoppers_cannot_open_the_admin(shopper_client):
    response = shopper_client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert "/admin/login/" in response.url
