"""A points package refunded from the admin in demo mode, over real HTTP: gunicorn with one sync worker serves the
admin page; the fake Stripe's refund is pending, settles right after its creation commits, and sends its signed
events with real POSTs from background threads, back into that same worker, which confirms the refund."""

import re

import requests
from django.conf import settings
from django.test import Client

from checkout.models import CheckoutSession, Refund, WebhookEvent
from stripe_fake import hosted
from tests.factories import PointsPackageFactory, StaffFactory, UserFactory
from tests.payments import pay_points_checkout
from tests.processes import wait_for
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start


def _browser_for(user) -> requests.Session:
    login = Client()
    login.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, login.cookies[settings.SESSION_COOKIE_NAME].value)
    return browser


def test_a_refund_from_the_admin_is_confirmed_by_a_real_signed_webhook(one_worker_server):
    base, log_path = one_worker_server
    shopper, staff = UserFactory(), StaffFactory()
    session = points_purchase_start(user=shopper, package=PointsPackageFactory(points=550, price_cents=3999)).session
    pay_points_checkout(session_id=session.pk, user=shopper, base_url=base)
    session.refresh_from_db()
    hosted.pay(session.stripe_session_id)  # its checkout.session.completed goes to the server after commit

    def status_is(wanted):
        return lambda: CheckoutSession.objects.filter(pk=session.pk, **wanted).exists()

    wait_for(status_is({"status": "completed"}), timeout=20,
              what=f"the payment's webhook; server log:\n{log_path.read_text()[-3000:]}")
    assert wallet_balance(user=shopper).current == 550

    # when: staff refund the purchase on its admin page
    browser = _browser_for(staff)
    url = f"{base}/admin/wallet/pointspurchase/{session.pk}/refund/"
    page = browser.get(url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    once = re.search(r'name="once" value="([^"]+)"', page.text).group(1)  # the form's one-time token
    done = browser.post(url, data={"csrfmiddlewaretoken": token, "reason": "Bought by mistake", "once": once},
                        headers={"Referer": url}, timeout=10, allow_redirects=False)

    # then: refunded at once (Stripe accepted it), then settled by the fake Stripe after commit and confirmed by
    # its signed refund.updated, POSTed into the same single worker
    assert done.status_code == 302, done.text[-2000:]
    assert wallet_balance(user=shopper).current == 0
    assert CheckoutSession.objects.get(pk=session.pk).stripe_refunded_cents == 3999
    settled = WebhookEvent.objects.filter(type__in=["refund.updated", "charge.refund.updated"], status="processed")
    wait_for(lambda: settled.count() == 2, timeout=20,
             what=f"refund.updated and charge.refund.updated; server log:\n{log_path.read_text()[-3000:]}")
    # both carry the settled refund, in whichever order they arrive: the first settles it, the second finds it done
    assert sorted(settled.values_list("error", flat=True)) == ["refund already succeeded",
                                                              "refund succeeded: package refund confirmed"]
    assert Refund.objects.get(session=session).status == "succeeded"
