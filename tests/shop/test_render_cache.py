"""The parts of the catalog, product and packages pages that are the same for every shopper come from the cache
(ops/fragments.py): the same HTML as rendered, never stale after any writer of what they show, never per shopper,
and the pages still answer when the cache is down."""

import pickle
import re
import uuid

import pytest
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.urls import reverse

from ops import fragments
from orders.models import Order, OrderStatus
from orders.services.cart import cart_add
from shop.models import Product
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory, give_points
from tests.processes import free_port
from wallet.models import PointsPackage

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_fragment_caches(empty_fragment_caches):
    pass


@pytest.fixture
def shop(db):
    return {
        "unlimited": ProductFactory(title="Aurora", description="Northern lights.\n\nOver the fjord."),
        "last_copy": ProductFactory(title="Bloom", stock=1, price_points=300),
        "package": PointsPackageFactory(name="Premium", points=1200, price_cents=999),
    }


def pages(shop):
    return {
        "catalog": (reverse("shop:catalog"), {}),
        "grid": (reverse("shop:catalog"), HTMX),
        "product": (shop["last_copy"].get_absolute_url(), {}),
        "packages": (reverse("shop:packages"), {}),
    }


def page_html(client, url, headers=None) -> str:
    """The page with its CSRF tokens and its forms' one-time checkout tokens blanked (fresh on every response)."""
    html = client.get(url, headers=headers or {}).content.decode()
    html = re.sub(r'name="checkout_token" value="[0-9a-f-]{36}"', 'name="checkout_token" value="<token>"', html)
    return re.sub(r"[A-Za-z0-9]{64}", "<csrf>", html)


def grid_card(html: str, title: str) -> str:
    start = html.index(f'<h2 class="card-title">{title}</h2>')
    return html[start:html.index("</article>", start)]


@pytest.mark.parametrize("page", ["catalog", "grid", "product", "packages"])
def test_a_cached_page_is_the_same_html_as_a_rendered_one(shopper_client, shop, renders, page, monkeypatch):
    url, headers = pages(shop)[page]

    missed = page_html(shopper_client, url, headers)
    assert renders, "the first request renders the fragments"
    renders.clear()
    hit = page_html(shopper_client, url, headers)
    fragments.local_cache().clear()
    from_redis = page_html(shopper_client, url, headers)
    assert renders == [], "the second and third requests were served from the cache"
    monkeypatch.setattr(fragments, "ENABLED", False)
    uncached = page_html(shopper_client, url, headers)

    assert hit == missed == from_redis
    assert uncached == missed


CHROME = "partials/site_chrome.html"


def test_fragments_are_shared_by_shoppers_and_hold_nothing_of_theirs(client, shop, renders):
    alice, bob = ShopperFactory(email="alice@example.com"), ShopperFactory(email="bob@example.com")
    urls = [url for url, _headers in pages(shop).values()]

    client.force_login(alice)
    for url in urls:
        client.get(url)
    rendered_for_alice = [name for name in renders if name != CHROME]
    client.force_login(bob)
    bobs = [client.get(url).content.decode() for url in urls]
    client.logout()
    anonymous = [client.get(url).content.decode() for url in urls]

    # The grid (the catalog's twice), the product's parts, its buy box, the packages.
    assert len(rendered_for_alice) == 4
    # Bob: all hits. A visitor: all hits but the buy box, which asks visitors to log in first.
    assert [name for name in renders if name != CHROME] == rendered_for_alice + ["shop/product.html"]
    # The header and footer: one rendering for shoppers and one for visitors, served from then on.
    assert renders.count(CHROME) == 2
    assert all("bob@example.com" in page for page in bobs)  # the header is Bob's own...
    assert not any("alice@example.com" in page for page in bobs + anonymous)  # ...and nothing of Alice's
    assert all("Log in to buy" in page for page in anonymous[2:])  # per-visitor parts stay outside the cache
    stored = [pickle.loads(value) for value in fragments.local_cache()._cache.values()]
    shared = [entry for entry in stored if "header_start" not in entry]
    chrome = [entry for entry in stored if "header_start" in entry]
    assert len(shared) == 5 and len(chrome) == 2
    assert not any("alice" in html for entry in shared for html in entry.values())
    # The buy boxes' forms hold placeholders for the CSRF token and the one-use checkout token, nothing else.
    forms = re.findall(r'name="(?:csrfmiddlewaretoken|checkout_token)" value="([^"]*)"',
                       "".join(html for entry in shared for html in entry.values()))
    assert forms and set(forms) == {"__csrf_token_placeholder__", "__checkout_token_placeholder__"}
    # No request's CSRF token or shopper's email is kept: the menu holds placeholders each request fills in.
    signed_in = [entry for entry in chrome if "Log out" in entry["header_end"]]
    assert len(signed_in) == 1
    assert 'name="csrfmiddlewaretoken" value="__csrf_token_placeholder__"' in signed_in[0]["header_end"]
    assert "__email_placeholder__" in signed_in[0]["header_end"]
    assert not any("@example.com" in html for entry in chrome for html in entry.values())


def test_selling_the_last_copy_by_points_shows_sold_out_at_once(client, shop):
    buyer = ShopperFactory(points=1000)
    client.force_login(buyer)
    product = shop["last_copy"]
    assert "1 left" in grid_card(page_html(client, "/"), "Bloom")
    assert "Limited edition: 1 left" in page_html(client, product.get_absolute_url())
    cart_add(user=buyer, product_id=product.pk)

    response = client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())})

    assert response.status_code == 302 and Order.objects.get().status == OrderStatus.COMPLETED
    # the buyer's card says they own it; another shopper's says sold out
    client.force_login(ShopperFactory())
    assert "Sold out" in grid_card(page_html(client, "/"), "Bloom")
    assert "Sold out" in page_html(client, "/", HTMX)
    assert "Sold out" in page_html(client, product.get_absolute_url())
    assert "1 left" not in page_html(client, product.get_absolute_url())


def test_a_card_reservation_and_its_release_show_at_once(shopper_client, shopper, shop):
    product = shop["last_copy"]
    assert "1 left" in page_html(shopper_client, product.get_absolute_url())
    cart_add(user=shopper, product_id=product.pk)

    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})

    assert Product.objects.get(pk=product.pk).stock == 0  # reserved while the order waits for its payment
    assert "Sold out" in page_html(shopper_client, product.get_absolute_url())
    assert "Sold out" in grid_card(page_html(shopper_client, "/"), "Bloom")

    shopper_client.post(reverse("orders:cancel", args=[Order.objects.get().pk]))

    assert Product.objects.get(pk=product.pk).stock == 1
    assert "Limited edition: 1 left" in page_html(shopper_client, product.get_absolute_url())
    assert "1 left" in grid_card(page_html(shopper_client, "/"), "Bloom")


def product_form(product, **changes) -> dict:
    data = {"title": product.title, "slug": product.slug, "description": product.description,
            "price_cents": product.price_cents, "price_points": product.price_points, "currency": product.currency,
            "is_active": "on", "stock": "" if product.stock is None else product.stock}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_staff_editing_a_product_in_the_admin_shows_at_once(staff_client, shop):
    product = shop["unlimited"]
    url = product.get_absolute_url()
    assert "$4.99" in page_html(staff_client, url) and "$4.99" in grid_card(page_html(staff_client, "/"), "Aurora")

    response = staff_client.post(reverse("admin:shop_product_change", args=[product.pk]),
                                 product_form(product, price_cents=1234, description="Now at dawn.", stock=2))

    assert response.status_code == 302
    page = page_html(staff_client, url)
    assert "$12.34" in page and "Now at dawn." in page and "Limited edition: 2 left" in page
    assert "Northern lights" not in page
    assert "$12.34" in grid_card(page_html(staff_client, "/"), "Aurora")


def test_staff_withdrawing_or_deleting_products_in_the_admin_shows_at_once(staff_client, shop):
    aurora, bloom = shop["unlimited"], shop["last_copy"]
    assert "Aurora" in page_html(staff_client, "/") and "Bloom" in page_html(staff_client, "/")

    staff_client.post(reverse("admin:shop_product_changelist"), {  # the list's "active" checkboxes
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "form-0-id": aurora.pk, "form-1-id": bloom.pk,
        "form-1-is_active": "on", "_save": "Save"})

    assert not Product.objects.get(pk=aurora.pk).is_active
    assert "Aurora" not in page_html(staff_client, "/")
    assert staff_client.get(aurora.get_absolute_url()).status_code == 404

    staff_client.post(reverse("admin:shop_product_changelist"),
                      {"action": "delete_selected", "_selected_action": [bloom.pk], "post": "yes"})

    assert not Product.objects.filter(pk=bloom.pk).exists()
    assert "Bloom" not in page_html(staff_client, "/")
    assert "Nothing for sale yet" in page_html(staff_client, "/", HTMX)


def test_staff_changing_a_package_in_the_admin_shows_at_once(staff_client, shop):
    package = shop["package"]
    assert "$9.99" in page_html(staff_client, reverse("shop:packages"))

    response = staff_client.post(reverse("admin:wallet_pointspackage_change", args=[package.pk]), {
        "name": "Premium Plus", "points": 1500, "price_cents": 1099, "currency": "usd", "is_active": "on",
        "sort_order": 1})

    assert response.status_code == 302, response.content.decode()[:2000]
    page = page_html(staff_client, reverse("shop:packages"))
    assert "Premium Plus" in page and "1,500 points" in page and "$10.99" in page and "$9.99" not in page

    PointsPackage.objects.filter(pk=package.pk).update(is_active=False)  # a set-based write, no save()

    assert "Premium Plus" not in page_html(staff_client, reverse("shop:packages"))


def test_a_set_based_update_of_any_shown_field_shows_at_once(client, shop):
    product = shop["unlimited"]
    assert "Aurora" in page_html(client, product.get_absolute_url())

    Product.objects.filter(pk=product.pk).update(title="Azure")  # updated_at untouched, the order kept

    assert "<h1>Azure</h1>" in page_html(client, product.get_absolute_url())
    assert grid_card(page_html(client, "/"), "Azure")


def test_where_previews_are_served_from_is_part_of_the_key(client, shop, settings):
    assert '<img src="/media/previews/' in page_html(client, shop["unlimited"].get_absolute_url())

    settings.MEDIA_URL = "https://cdn.example.com/"  # a new setting is a restart; in a test, a settings change

    assert '<img src="https://cdn.example.com/previews/' in page_html(client, shop["unlimited"].get_absolute_url())


@pytest.mark.parametrize("page", ["catalog", "grid", "product", "packages"])
def test_pages_render_with_the_cache_unreachable(shopper_client, shop, settings, page, renders):
    url, headers = pages(shop)[page]
    expected = page_html(shopper_client, url, headers)
    fragments.local_cache().clear()
    renders.clear()
    settings.CACHES = {**settings.CACHES, "default": {
        "BACKEND": "ops.cache.ResilientRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}

    response = shopper_client.get(url, headers=headers)

    assert response.status_code == 200
    html = re.sub(r'name="checkout_token" value="[0-9a-f-]{36}"', 'name="checkout_token" value="<token>"',
                  response.content.decode())
    assert re.sub(r"[A-Za-z0-9]{64}", "<csrf>", html) == expected
    assert renders, "rendered, since the shared cache could not answer"


def test_pages_render_when_the_cache_fails_otherwise(shopper_client, shop, monkeypatch, renders):
    class BrokenCache:
        def get_many(self, keys):
            raise RuntimeError("OOM command not allowed when used memory > 'maxmemory'")

        set_many = get_many

    monkeypatch.setattr(fragments, "caches", {fragments.CACHE_ALIAS: BrokenCache()})

    for url, headers in pages(shop).values():
        response = shopper_client.get(url, headers=headers)
        assert response.status_code == 200
        assert b"Bloom" in response.content or b"Premium" in response.content
    # The catalog's grid, the product's parts and buy box, the packages, the header and footer: rendered once,
    # then from this process's memory.
    assert len(renders) == 5 and renders.count(CHROME) == 1


@pytest.mark.parametrize("page, queries", [("catalog", 2), ("grid", 2), ("product", 2), ("packages", 2)])
def test_query_counts_cold_and_warm(shopper_client, shop, page, queries, django_assert_num_queries, renders):
    """A hit saves the rendering, not the page's query: the query is what the key is made from (the header's
    one query for session, user, wallet and cart, and the page's own, with the shopper's ownership)."""
    url, headers = pages(shop)[page]
    ProductFactory.create_batch(20)

    with django_assert_num_queries(queries):
        shopper_client.get(url, headers=headers)
    assert renders
    renders.clear()
    with django_assert_num_queries(queries):
        shopper_client.get(url, headers=headers)
    assert renders == []


def test_templates_are_parsed_once_per_process():
    """The cached template loader is on whatever DEBUG says (django-template-partials wraps it)."""
    (partials_loader,) = engines["django"].engine.template_loaders

    assert any(isinstance(loader, CachedLoader) for loader in partials_loader.loaders)


def test_a_shopper_with_points_buying_through_the_page_sees_their_own_balance(client, shop):
    """The balance is never part of a fragment: each shopper's header shows theirs, on a warm cache too."""
    rich, poor = ShopperFactory(points=5000), ShopperFactory(points=7)
    give_points(poor, 1)

    client.force_login(rich)
    rich_page = page_html(client, shop["unlimited"].get_absolute_url())
    client.force_login(poor)
    poor_page = page_html(client, shop["unlimited"].get_absolute_url())

    assert 'data-balance="5000"' in rich_page and 'data-balance="8"' in poor_page


def test_the_buy_box_shows_the_balance_from_the_database_only_when_it_is_too_low(client, shop):
    shopper = ShopperFactory(points=250)  # "Bloom" costs 300 points
    client.force_login(shopper)
    url = shop["last_copy"].get_absolute_url()

    short = client.get(url).content.decode()
    give_points(shopper, 30)
    still_short = client.get(url).content.decode()
    give_points(shopper, 100)
    enough = client.get(url).content.decode()

    assert "You have 250 points" in short and 'value="points" class="button" disabled' in short
    assert "You have 280 points" in still_short and "250 points" not in still_short
    assert "You have" not in enough and 'value="points" class="button">' in enough
    tokens = [re.search(r'name="checkout_token" value="([^"]+)"', page).group(1) for page in (short, enough)]
    assert tokens[0] != tokens[1] and all(uuid.UUID(token) for token in tokens)  # one per rendering
