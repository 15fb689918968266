import re
import time

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD


def log_in(page, user):
    page.goto("/accounts/login/")
    submit_log_in(page, user)
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the catalog, where logging in leads


def submit_log_in(page, user):
    """Fill in and send the log-in form the page shows."""
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def sign_in(context, user, *, base_url: str):
    """A signed-in session without the log-in form (test_signup and the log-in redirect test cover the form)."""
    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base_url}])


def buy_package_on_the_demo_page(page, package):
    """Points page -> review -> our Pay -> the demo hosted page -> its Pay -> back on our result page."""
    page.get_by_role("link", name="Buy points").click()
    page.get_by_role("button", name=f"Buy {package.name}").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    pay_demo_checkout(page, package)


def pay_demo_checkout(page, package):
    """From the review page: our Pay button, then Pay on the demo hosted page; waits for the result page."""
    price = f"${package.price_cents // 100}.{package.price_cents % 100:02d}"
    page.get_by_role("button", name=f"Pay {price}").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    page.get_by_role("button", name=f"Pay {price}").click()
    page.wait_for_url("**/checkout/*/result/")


def record_balance_events(page):
    """Note every balance-changed event the page sees, with where shop.js says it came from (none: this tab's
    own server response; "other-tab": BroadcastChannel; "visible-again": the tab was shown again)."""
    page.evaluate("""() => {
        window.__balanceEvents = [];
        document.body.addEventListener("balance-changed", (event) =>
            window.__balanceEvents.push((event.detail && event.detail.origin) || "server"));
    }""")


def balance_events(page) -> list[str]:
    return page.evaluate("window.__balanceEvents")


def mark_page(page):
    """Set a marker that a full page load would wipe: its survival proves an update came without a reload."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def expect_badge_shows(page, points: int):
    expect(page.locator("#balance-badge")).to_have_text(f"{points:,} points", timeout=15_000)
    expect(page.locator("#balance-badge")).to_have_attribute("data-balance", str(points))


def assert_nothing_in_client_storage(page):
    """Balances and payment states live on the server only: nothing in either Web Storage area."""
    stored = page.evaluate("""() => ({local: Object.keys(localStorage), session: Object.keys(sessionStorage)})""")
    assert stored == {"local": [], "session": []}, stored


def eventually(check, *, timeout: float = 10, what: str):
    """For what happens off the page (a Celery task): wait until ``check()`` is truthy, and return it."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)
    return result
