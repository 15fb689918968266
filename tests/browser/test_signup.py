import pytest
from playwright.sync_api import expect

from shop.models import User
from wallet.models import Wallet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_shopper_signs_up_and_sees_their_balance_badge(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Email").fill("first.visitor@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-password-1")
    page.get_by_label("Password again").fill("a-long-enough-password-1")
    page.get_by_role("button", name="Sign up").click()

    badge = page.locator("#balance-badge")
    expect(badge).to_have_text("0 points")
    expect(page.locator("[aria-live=polite][aria-atomic=true]").filter(has=badge)).to_have_count(1)
    expect(page.get_by_text("Your account and wallet are ready")).to_be_visible()
    user = User.objects.get(email="first.visitor@example.com")
    assert Wallet.objects.get(user=user).balance == 0
