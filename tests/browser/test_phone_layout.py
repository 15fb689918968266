"""The shop on a phone (390 x 844) and a desktop (1280 x 800): the header folds its links into a Menu on a phone
and stays one short row, no page is wider than the screen (the demo payment page with its long ids included), the
demo bank debit's outcomes are reachable from the result page, and a staff form submitted again after the
browser's Back button does nothing twice. Screenshots of every page at both sizes go to test-artifacts/browser/."""

import re

import pytest
from django.contrib.flatpages.models import FlatPage
from django.contrib.sites.models import Site
from playwright.sync_api import expect

from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from shop.pages import SHOP_PAGES
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import sign_in
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory, StaffFactory
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start

PHONE, DESKTOP = (390, 844), (1280, 800)


@pytest.fixture
def shop(db):
    site = Site.objects.get(pk=1)
    for page in SHOP_PAGES:
        FlatPage.objects.create(url=page.url, title=page.title, content=page.content).sites.add(site)
    product = ProductFactory(title="Aurora Over Fjords With A Rather Long Title For A Phone", price_cents=499,
                             price_points=450)
    package = PointsPackageFactory(name="Premium", points=1200, price_cents=999)
    PointsPackageFactory(name="Basic", points=500, price_cents=499)
    return {"product": product, "package": package}


def _shopper_with_history(shop):
    shopper = ShopperFactory(points=12500, email="a.rather.long.address.for.a.phone@example.com")
    cart_add(user=shopper, product_id=shop["product"].pk)
    order = order_pay_with_points(user=shopper, idempotency_key="phone-layout")
    cart_add(user=shopper, product_id=ProductFactory(title="Desert Bloom").pk)
    return shopper, order


def _fits(page, width: int, what: str):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{what} is {scroll_width} px wide on a {width} px screen"


def _header_height(page) -> float:
    return page.locator("header.site-header").bounding_box()["height"]


@pytest.mark.parametrize("width, height", [PHONE, DESKTOP])
def test_no_page_is_wider_than_the_screen(page, live_server, shop, width, height):
    shopper, order = _shopper_with_history(shop)
    session = points_purchase_start(user=shopper, package=shop["package"]).session
    page.set_viewport_size({"width": width, "height": height})
    signed_out = [("/", "catalog"), (f"/products/{shop['product'].slug}/", "product"), ("/points/", "packages"),
                  ("/accounts/login/", "login"), ("/accounts/signup/", "signup"),
                  *((p.url, p.name) for p in SHOP_PAGES), ("/no-such-page/", "404")]
    for path, name in signed_out:
        page.goto(path)
        _fits(page, width, path)
        page.screenshot(path=ARTIFACTS / f"layout-{width}-signed-out-{name}.png", full_page=True)

    sign_in(page.context, shopper, base_url=live_server.url)
    signed_in = [("/", "catalog"), (f"/products/{shop['product'].slug}/", "product"), ("/points/", "packages"),
                 ("/cart/", "cart"), ("/wallet/", "wallet"), ("/orders/", "orders"), (f"/orders/{order.pk}/", "order"),
                 ("/checkout/points/", "choose-package"), (f"/checkout/{session.pk}/", "review"),
                 ("/accounts/password/", "password"), ("/about/", "about")]
    for path, name in signed_in:
        response = page.goto(path)
        assert response.status == 200, path
        _fits(page, width, path)
        page.screenshot(path=ARTIFACTS / f"layout-{width}-signed-in-{name}.png", full_page=True)

    # The demo payment page, with its long session id, reached as a shopper reaches it.
    page.goto(f"/checkout/{session.pk}/")
    page.get_by_role("button", name="Pay $9.99").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    _fits(page, width, "the demo payment page")
    page.screenshot(path=ARTIFACTS / f"layout-{width}-demo-payment.png", full_page=True)


def test_the_phone_header_is_one_short_row_with_a_menu(page, live_server, shop):
    shopper, _ = _shopper_with_history(shop)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})

    page.goto("/")
    header = page.get_by_role("navigation", name="Main")
    assert _header_height(page) <= 64
    expect(header.get_by_role("link", name="Catalog")).to_have_count(0)  # folded away
    expect(header.get_by_role("link", name="Sign up")).to_be_visible()
    page.locator("summary", has_text="Menu").click()
    expect(header.get_by_role("link", name="Catalog")).to_be_visible()
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "header-390-signed-out-menu-open.png")

    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/wallet/")
    assert _header_height(page) <= 64, "the signed-in header takes more than one row"
    expect(page.locator("#balance-badge")).to_be_visible()
    expect(page.locator("#balance-badge")).to_have_text("12,050 points")
    expect(page.locator("#cart-badge")).to_be_visible()
    expect(header.get_by_role("link", name="Your orders")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "header-390-signed-in.png")
    page.locator("summary", has_text="Menu").click()
    for name in ("Catalog", "Buy points", "Wallet", "Your orders", "Change password"):
        expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    expect(header.locator(".menu-who")).to_have_text(shopper.email)
    _fits(page, PHONE[0], "the open menu")
    page.screenshot(path=ARTIFACTS / "header-390-signed-in-menu-open.png")
    page.keyboard.press("Escape")  # closes it, as a click elsewhere does
    expect(header.get_by_role("link", name="Your orders")).to_be_hidden()
    page.locator("summary", has_text="Menu").click()
    header.get_by_role("link", name="Your orders").click()
    page.wait_for_url("**/orders/")


def test_the_desktop_header_shows_its_links_and_no_menu_button(page, live_server, shop):
    shopper, _ = _shopper_with_history(shop)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    page.goto("/")

    header = page.get_by_role("navigation", name="Main")
    for name in ("Catalog", "Buy points", "Wallet"):
        expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(header.get_by_text("Menu", exact=True)).to_be_hidden()
    expect(header.locator("summary").get_by_text(shopper.email)).to_be_visible()
    assert _header_height(page) <= 64
    page.screenshot(path=ARTIFACTS / "header-1280-signed-in.png")


@pytest.mark.parametrize("width, height", [PHONE, DESKTOP])
def test_a_bank_debit_is_settled_from_the_result_page(page, live_server, shop, width, height):
    shopper = ShopperFactory()
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})
    session = points_purchase_start(user=shopper, package=shop["package"]).session
    page.goto(f"/checkout/{session.pk}/")
    page.get_by_role("button", name="Pay $9.99").click()
    page.get_by_role("button", name="Pay by bank debit (clears later)").click()
    page.wait_for_url("**/checkout/*/result/")
    expect(page.get_by_role("heading", name="Bank payment processing")).to_be_visible()
    _fits(page, width, "the result page")

    page.get_by_role("link", name=re.compile("decide how the bank debit ends")).click()
    page.get_by_role("button", name="Debit clears").click()
    page.get_by_role("link", name="Back to the shop").click()

    expect(page.locator("#balance-badge")).to_have_text("1,200 points", timeout=15_000)
    assert wallet_balance(user=shopper).current == 1200
    page.screenshot(path=ARTIFACTS / f"bank-debit-settled-{width}.png", full_page=True)


def test_back_and_submit_again_adjusts_a_balance_once(page, live_server):
    staff, shopper = StaffFactory(), ShopperFactory(points=100)
    sign_in(page.context, staff, base_url=live_server.url)
    page.goto(f"/admin/wallet/wallet/{shopper.wallet.pk}/change/")  # as staff get there (and get a CSRF cookie)

    page.get_by_role("link", name="Adjust balance").first.click()
    page.get_by_label("Points").fill("25")
    page.get_by_label("Reason").fill("Goodwill")
    page.get_by_role("button", name="Adjust balance").click()
    expect(page.get_by_text("the balance is now 125 points")).to_be_visible()
    page.go_back()
    expect(page.get_by_label("Points")).to_have_value("25")  # as typed: Chromium restores the fields
    expect(page.get_by_label("Make another change")).not_to_be_checked()
    page.get_by_role("button", name="Adjust balance").click()

    expect(page.get_by_text("Nothing was done: this form was already submitted")).to_be_visible()
    assert LedgerEntry.objects.filter(kind="adjustment", created_by=staff).count() == 1
    assert wallet_balance(user=shopper).current == 125
    page.screenshot(path=ARTIFACTS / "admin-adjust-submitted-twice.png", full_page=True)


def _luminance(rgb: str) -> float:
    channels = [int(value) / 255 for value in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_dashboards_failed_webhooks_caption_is_readable(page, live_server):
    sign_in(page.context, StaffFactory(), base_url=live_server.url)

    page.goto("/admin/dashboard/")
    link = page.locator("#webhooks caption a").first
    colour, background = link.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(a.closest('caption')).backgroundColor]")
    lighter, darker = sorted((_luminance(colour), _luminance(background)), reverse=True)

    assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (colour, background)
