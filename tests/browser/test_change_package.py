"""Changing the package on the review step invalidates the old checkout (its Stripe page
can no longer be paid) and paying the new one credits the new package's points."""

import pytest
from playwright.sync_api import expect

from checkout.models import CheckoutSession
from stripe_fake import hosted
from tests.browser.helpers import expect_badge_shows, pay_demo_checkout, sign_in
from tests.factories import PointsPackageFactory, UserFactory
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_changing_the_package_invalidates_the_old_checkout_and_the_new_one_pays_and_credits(page, live_server):
    shopper = UserFactory()
    PointsPackageFactory(name="Basic", points=100, price_cents=999)
    premium = PointsPackageFactory(name="Premium", points=550, price_cents=3999)
    sign_in(page.context, shopper, base_url=live_server.url)

    # given: the shopper reviewed Basic, went to the payment page, and came back without paying
    page.goto("/checkout/points/")
    page.get_by_role("button", name="Choose Basic").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    page.get_by_role("button", name="Pay $9.99").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    old_stripe_page = page.url
    page.get_by_role("button", name="Cancel and go back to the shop").click()
    expect(page.get_by_text("Payment cancelled: nothing was charged")).to_be_visible()
    old = CheckoutSession.objects.get(user=shopper)

    # when: on the review step they choose another package
    page.get_by_role("link", name="Choose another package").click()
    page.get_by_role("button", name="Choose Premium").click()

    # then: the review shows Premium, and the old checkout is over: invalidated, and its Stripe session expired
    expect(page.get_by_text("Your checkout is now for Premium.")).to_be_visible()
    expect(page.locator(".checkout-summary")).to_contain_text("550 points")
    old.refresh_from_db()
    new = CheckoutSession.objects.get(user=shopper, status="active")
    assert (old.status, old.replaced_by_id, new.points_purchase.package_id) == ("invalidated", new.pk, premium.pk)
    assert hosted.load_session(old.stripe_session_id)["status"] == "expired"
    review_url = page.url

    # ... the old payment page can no longer be paid
    page.goto(old_stripe_page)
    expect(page.get_by_text("This checkout session is expired.")).to_be_visible()
    expect(page.get_by_role("button", name="Pay $9.99")).to_have_count(0)

    # ... and paying the new one works (the webhook comes the production way: a POST from a background thread)
    page.goto(review_url)
    pay_demo_checkout(page, premium)
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    expect_badge_shows(page, premium.points)
    assert wallet_balance(user=shopper).current == premium.points
    new.refresh_from_db()
    old.refresh_from_db()
    assert (new.status, old.status) == ("completed", "invalidated")
    assert list(LedgerEntry.objects.filter(wallet__user=shopper).values_list("amount", flat=True)) == [550]
