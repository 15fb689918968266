"""A card payment disputed on the demo Stripe page: the dispute reaches the staff dashboard (and their inbox), the
shopper's download is suspended, and comes back when the dispute is won."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from checkout.models import Dispute
from orders.models import Order
from orders.services.cart import cart_add
from tests.browser.helpers import eventually, sign_in
from tests.factories import ProductFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _dispute(**filters) -> Dispute | None:
    return Dispute.objects.filter(**filters).first()


def test_a_dispute_reaches_the_staff_dashboard_and_suspends_the_download_until_it_is_won(
        page, chromium, live_server, celery_worker, mailoutbox):
    shopper, staff = UserFactory(), StaffFactory(email="ops@example.com")
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_cents=499).pk)
    sign_in(page.context, shopper, base_url=live_server.url)

    # given: the shopper paid by card on the demo page, and the order page offers the download
    page.goto(reverse("orders:cart"))
    page.get_by_role("button", name="Pay $4.99 by card").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    page.get_by_role("button", name="Pay $4.99").click()
    download = page.get_by_role("link", name="Download Harbour Lights")
    expect(download).to_be_visible()
    link = download.get_attribute("href")
    assert page.request.get(link).status == 200
    order = Order.objects.get(user=shopper)

    # when: the cardholder's bank disputes the payment (the demo page's button; Stripe's webhook follows)
    demo = page.context.new_page()
    demo.goto(order.checkout_session.stripe_checkout_url)
    demo.get_by_role("button", name="Dispute this payment").click()
    expect(demo.get_by_text("Stripe sent charge.dispute.created")).to_be_visible()
    dispute = eventually(lambda: _dispute(session=order.checkout_session), what="the dispute's webhook")

    # then: the order page says the purchase is disputed, and the download link answers so
    page.reload()
    expect(page.get_by_text("is disputed with your bank, so its downloads")).to_be_visible()
    expect(download).to_have_count(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Downloads are suspended: this purchase is under dispute")).to_be_visible()
    assert page.request.get(link).status == 403

    # ... and staff see it on their dashboard, with the date its evidence is due, and were emailed
    staff_context = chromium.new_context(base_url=live_server.url)
    try:
        sign_in(staff_context, staff, base_url=live_server.url)
        dashboard = staff_context.new_page()
        dashboard.goto(reverse("admin:dashboard"))
        expect(dashboard.locator("#open-disputes")).to_have_text("1")
        row = dashboard.locator("#disputes tr.open-dispute")
        expect(row).to_contain_text(dispute.stripe_dispute_id)
        expect(row).to_contain_text(f"{timezone.localtime(dispute.evidence_due_by):%Y-%m-%d %H:%M}")
        expect(row).to_contain_text(f"order {order.short_id} disputed: downloads suspended")
    finally:
        staff_context.close()
    eventually(lambda: mailoutbox, what="the staff alert")
    assert [(mail.to, mail.subject.split(" for ")[0]) for mail in mailoutbox if "Dispute" in mail.subject] == [
        (["ops@example.com"], "Dispute opened: $4.99")]

    # when: the dispute is won
    demo.get_by_role("button", name="Win the dispute").click()
    expect(demo.get_by_text("Stripe sent charge.dispute.closed (won)")).to_be_visible()
    eventually(lambda: _dispute(pk=dispute.pk, outcome="won"), what="the dispute's close")

    # then: the download is back
    page.goto(reverse("orders:detail", args=[order.pk]))
    expect(download).to_be_visible()
    assert page.request.get(link).status == 200
