"""A payment still pending when the shopper comes back becomes completed while the result
page is open (Stripe's webhook arrives late): the page polls, updates by itself, and then stops polling."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from checkout.models import CheckoutSession
from tests.browser.helpers import (
    buy_package_on_the_demo_page,
    expect_badge_shows,
    mark_page,
    same_document,
    sign_in,
)
from tests.factories import PointsPackageFactory, UserFactory
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_MS = 2_000


def test_the_result_page_polls_until_the_late_webhook_completes_the_payment_then_stops(
        page, live_server, held_webhooks):
    shopper = UserFactory()
    package = PointsPackageFactory(name="Starter", points=120, price_cents=999)
    sign_in(page.context, shopper, base_url=live_server.url)
    # The page's timers run on a clock the test can move on, so "no more polls" needs no waiting.
    page.clock.install()
    page.goto("/")

    # given: back from the demo page, the payment is pending (the webhook is held back)
    buy_package_on_the_demo_page(page, package)
    session = CheckoutSession.objects.get(user=shopper)
    status_url = live_server.url + reverse("points:result", args=[session.pk])
    polls = []
    page.on("request", lambda request: polls.append(request) if (
        request.url == status_url and request.headers.get("hx-target") == "checkout-status") else None)
    expect(page.get_by_role("heading", name="Payment pending")).to_be_visible()
    mark_page(page)
    # the headline is the status region: it must stay in place while the section polls, and change only when the
    # status does (a replaced region is not announced; the same text written again may be announced again)
    page.evaluate("""() => { const region = document.getElementById("checkout-headline"); region.__kept = true;
        window.__headlineChanges = 0;
        new MutationObserver((records) => { window.__headlineChanges += records.length; })
            .observe(region, {childList: true, subtree: true, characterData: true}); }""")
    expect(page.locator("#checkout-headline")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#checkout-status")).not_to_have_attribute("aria-live", "polite")

    # when: the page keeps asking while Stripe has told us nothing
    with page.expect_response(status_url) as still_pending:
        page.clock.run_for(POLL_MS)
    assert still_pending.value.status == 200
    expect(page.get_by_role("heading", name="Payment pending")).to_be_visible()
    assert CheckoutSession.objects.get(pk=session.pk).status == "active"
    assert page.evaluate("window.__headlineChanges") == 0, "an unchanged status was written again"

    # ... until the webhook arrives, late, as a signed HTTP POST from outside the browser
    assert held_webhooks.post(held_webhooks.take("checkout.session.completed")).status_code == 200
    with page.expect_response(status_url) as final:
        page.clock.run_for(POLL_MS)

    # then: the next poll gets the final state with htmx's stop-polling status, and the page shows it by itself
    assert final.value.status == 286
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert page.evaluate("document.getElementById('checkout-headline').__kept === true"), "the region was replaced"
    assert page.evaluate("window.__headlineChanges") > 0
    expect_badge_shows(page, wallet_balance(user=shopper).current)
    expect_badge_shows(page, package.points)
    assert same_document(page)

    # ... and asks no more: five polling periods later the status URL has not been requested again
    polls_at_final = len(polls)
    page.clock.run_for(5 * POLL_MS)
    with page.expect_response(lambda response: response.url.endswith(reverse("orders:cart_badge"))):
        page.evaluate("htmx.trigger(document.body, 'cart-changed')")  # a request that surely comes after them
    assert len(polls) == polls_at_final
    expect(page.locator("#checkout-status")).not_to_have_attribute("hx-trigger", "every 2s")
