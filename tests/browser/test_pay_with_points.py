import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.helpers import assert_nothing_in_client_storage, eventually, log_in, mark_page, same_document
from tests.factories import ProductFactory, ShopperFactory
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buying_a_product_with_points_updates_balance_and_cart_badges_without_a_reload(page, celery_worker,
                                                                                       mailoutbox):
    shopper = ShopperFactory(points=1000)
    product = ProductFactory(title="Harbour Lights", price_points=450)
    log_in(page, shopper)
    expect(page.locator("#balance-badge")).to_have_text("1,000 points")

    page.goto(product.get_absolute_url())
    mark_page(page)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#add-to-cart-result")).to_contain_text("Added to your cart")
    expect(page.locator("#cart-badge")).to_contain_text("1")
    assert same_document(page)

    page.locator("#cart-badge").click()
    mark_page(page)
    # the region screen readers watch must stay put while the badge inside it is swapped: one replaced along
    # with its content is not announced
    live_region = page.locator("[aria-live=polite]").filter(has=page.locator("#balance-badge"))
    live_region.evaluate("(region) => { region.__kept = true; }")
    page.get_by_role("button", name="Pay 450 points").click()

    expect(page.get_by_text("is paid")).to_be_visible()
    expect(page.locator("#balance-badge")).to_have_text(f"{wallet_balance(user=shopper).current} points")
    expect(page.locator("#balance-badge")).to_have_text("550 points")
    expect(live_region).to_have_text("550 points")
    assert live_region.evaluate("(region) => region.__kept === true"), "the live region was replaced"
    expect(page.locator("#cart-badge")).to_contain_text("0")
    assert same_document(page)
    order = Order.objects.get(user=shopper)
    assert order.status == "completed"
    # the confirmation goes out from the Celery worker, once
    eventually(lambda: mailoutbox, what="the order confirmation email")
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        ([shopper.email], f"Your receipt for order {order.short_id}")]

    assert_nothing_in_client_storage(page)

    page.get_by_role("link", name="Wallet").click()
    spend = page.locator(".ledger-entry").filter(has_text="Order " + order.short_id)
    expect(spend).to_have_count(1)
    expect(spend.locator(".entry-amount")).to_have_text("\u2212450 points")
    expect(spend.locator(".entry-after")).to_have_text("Balance after: 550 points")
    expect(spend.get_by_role("link", name="View the order")).to_have_attribute("href", f"/orders/{order.pk}/")
    expect(page.locator("#balance-card [data-balance]")).to_have_attribute("data-balance", "550")
