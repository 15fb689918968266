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


def test_seed_demo_creates_the_footer_pages_once_and_keeps_what_staff_wrote(client, db, capsys):
    from django.contrib.flatpages.models import FlatPage
    from django.contrib.sites.models import Site
    from shop.pages import SHOP_PAGES

    call_command("seed_demo")
    FlatPage.objects.filter(url="/contact/").update(content="<p>Call us on 555-0100.</p>")
    call_command("seed_demo")

    assert sorted(FlatPage.objects.values_list("url", flat=True)) == sorted(page.url for page in SHOP_PAGES)
    assert sorted(FlatPage.objects.values_list("url", flat=True)) == [
        "/about/", "/contact/", "/privacy/", "/refund-policy/", "/terms/"]
    site = Site.objects.get()
    assert site.name == "Pixel Shop"
    assert all(list(page.sites.all()) == [site] for page in FlatPage.objects.all())
    assert "Call us on 555-0100." in client.get("/contact/").content.decode()  # staff's text, not overwritten
    for page in SHOP_PAGES:
        response = client.get(page.url)
        assert response.status_code == 200 and page.title in response.content.decode()
    assert "created now: 3 packages, 12 products, 2 users, 5 pages" in capsys.readouterr().out.splitlines()[0]
