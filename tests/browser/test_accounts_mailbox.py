"""Accounts through the demo mailbox, as a newcomer on `make run` sees them: a forgotten password reset from the
log-in page with the mail read in the demo mailbox, an e-mail change confirmed from the new address's mail, and a
receipt with its download link -- on a phone and a desktop, nothing wider than the screen."""

import re

import pytest
from playwright.sync_api import expect

from demo_mailbox.models import DemoMail
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import eventually, sign_in
from tests.factories import TEST_PASSWORD, ProductFactory, UserFactory, give_points

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])


@pytest.fixture(autouse=True)
def demo_mail(settings, live_server):
    """Mail as in demo mode: kept by the mailbox, with links on the live server's address (SITE_URL)."""
    settings.EMAIL_BACKEND = "demo_mailbox.backend.DemoMailboxBackend"
    settings.SITE_URL = live_server.url


def open_mail(page, subject: str, *, width: int, shot: str):
    """The header's Demo mailbox link, then the mail (the worker sends it within moments)."""
    eventually(lambda: DemoMail.objects.filter(subject=subject).exists(), what=f"the mail {subject!r}")
    page.goto("/")
    mailbox = page.get_by_role("link", name="Demo mailbox")
    if not mailbox.is_visible():  # on a phone, or signed in, it is in the header's menu
        page.locator("header details.menu > summary").click()
    mailbox.click()
    expect(page.get_by_role("heading", name="Demo mailbox")).to_be_visible()
    assert fits(page, width)
    page.get_by_role("link", name=subject).first.click()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    assert fits(page, width)
    page.screenshot(path=ARTIFACTS / f"mailbox-{shot}-{width}.png", full_page=True)


def fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@SIZES
def test_a_forgotten_password_is_reset_through_the_demo_mailbox(page, celery_worker, live_server, width, height):
    shopper = UserFactory(email="forgetful@example.com")
    page.set_viewport_size({"width": width, "height": height})

    # the shopper asks for a reset from the log-in page, typing the address in capitals
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("Forgetful@Example.com")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert fits(page, width)

    # the mail, in the demo mailbox: its HTML in the sandboxed frame, its link on the site's address
    open_mail(page, "Reset your Pixel Shop password", width=width, shot="password-reset")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.get_by_role("heading", name="Reset your password")).to_be_visible()
    expect(frame.get_by_text("forgetful@example.com")).to_be_visible()
    link = page.locator(".mail-links a").filter(has_text="/accounts/password/reset/")
    assert link.get_attribute("href").startswith(live_server.url + "/accounts/password/reset/")
    with page.expect_popup() as opened:  # the mail's button opens the link in a new tab, as a mail program does
        frame.get_by_role("link", name="Choose a new password").click()
    page = opened.value
    page.set_viewport_size({"width": width, "height": height})

    # a new password, then log in with it
    page.get_by_label("New password", exact=True).fill("a-brand-new-Passw0rd")
    page.get_by_label("New password confirmation").fill("a-brand-new-Passw0rd")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible()
    page.screenshot(path=ARTIFACTS / f"password-reset-complete-{width}.png", full_page=True)
    page.get_by_role("link", name="Log in", exact=True).last.click()
    page.get_by_label("Email").fill("forgetful@example.com")
    page.get_by_label("Password").fill("a-brand-new-Passw0rd")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    expect(page.locator("#balance-badge")).to_be_visible()
    shopper.refresh_from_db()
    assert shopper.check_password("a-brand-new-Passw0rd")


@SIZES
def test_an_email_change_is_confirmed_from_the_new_address(page, celery_worker, live_server, width, height):
    shopper = UserFactory(email="moving@example.com")
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    page.goto("/accounts/email/")
    page.get_by_label("New email address").fill("Settled@Example.com")
    page.get_by_label("Your current password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.get_by_text("We sent a confirmation link to settled@example.com")).to_be_visible()
    assert fits(page, width)

    open_mail(page, "Confirm your new Pixel Shop email address", width=width, shot="email-change")
    expect(page.locator(".mail-headers")).to_contain_text("settled@example.com")  # sent to the new address
    page.locator(".mail-links a").filter(has_text="/accounts/email/confirm/").click()
    page.get_by_role("button", name="Use settled@example.com").click()
    expect(page.get_by_role("heading", name="Your email address is changed")).to_be_visible()
    assert fits(page, width)
    page.screenshot(path=ARTIFACTS / f"email-change-done-{width}.png", full_page=True)
    shopper.refresh_from_db()
    assert shopper.email == "settled@example.com"

    # the old address is told
    open_mail(page, "Your Pixel Shop email address was changed", width=width, shot="email-changed-notice")
    expect(page.locator(".mail-headers")).to_contain_text("moving@example.com")


@SIZES
def test_a_receipt_in_the_mailbox_downloads_what_was_bought(page, celery_worker, live_server, width, height):
    shopper = UserFactory()
    give_points(shopper, 20000)
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_points=12500).pk)
    order = order_pay_with_points(user=shopper, idempotency_key="browser-receipt")  # queues the receipt on commit
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    open_mail(page, f"Your receipt for order {order.short_id}", width=width, shot="receipt")

    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    expect(frame.get_by_text("12,500 points").first).to_be_visible()
    download = page.locator(".mail-links a").filter(has_text="/downloads/")
    assert page.request.get(download.get_attribute("href")).status == 200
