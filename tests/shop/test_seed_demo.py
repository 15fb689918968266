from django.core.management import call_command

from shop.models import Product, User
from wallet.models import PointsPackage
from wallet.models import LedgerEntry, Wallet
from wallet.selectors import wallet_balance


def test_seed_demo_twice_creates_nothing_twice(db, capsys):
    call_command("seed_demo")
    first = (PointsPackage.objects.count(), Product.objects.count(), User.objects.count(), Wallet.objects.count())
    first_output = capsys.readouterr().out

    call_command("seed_demo")
    second = (PointsPackage.objects.count(), Product.objects.count(), User.objects.count(), Wallet.objects.count())

    assert first == (3, 12, 2, 2)
    assert second == first
    assert "shopper@example.com" in first_output and "staff@example.com" in first_output
    assert set(PointsPackage.objects.values_list("name", flat=True)) == {"Basic", "Premium", "Pro"}
    shopper = User.objects.get(email="shopper@example.com")
    assert wallet_balance(user=shopper).current == 1000  # granted once, through the ledger
    assert LedgerEntry.objects.filter(wallet__user=shopper).count() == 1


def test_seeded_users_can_log_in_and_products_have_images(client, db):
    call_command("seed_demo")
    from shop.management.commands.seed_demo import DEMO_SHOPPER, DEMO_STAFF

    assert client.login(username=DEMO_SHOPPER[0], password=DEMO_SHOPPER[1])
    assert User.objects.get(email=DEMO_STAFF[0]).is_staff
    for product in Product.objects.all():
        assert product.image.storage.exists(product.image.name)
        assert product.preview.storage.exists(product.preview.name)
    assert Product.objects.filter(stock__isnull=False).exists()
