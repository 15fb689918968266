"""The demo's production path over real HTTP: gunicorn with ONE sync worker serves the shop; the demo Stripe
page's Pay delivers the signed webhook with a real POST from a background thread, back into that same worker.
A synchronous self-request would deadlock here; this proves it does not."""

import re

import requests
from django.conf import settings
from django.test import Client

from checkout.models import CheckoutSession, WebhookEvent
from tests.factories import PointsPackageFactory, UserFactory
from tests.processes import wait_for
from wallet.selectors import wallet_balance


def test_pay_on_the_demo_page_credits_through_a_real_webhook_into_a_single_sync_worker(one_worker_server):
    base, log_path = one_worker_server
    user, package = UserFactory(), PointsPackageFactory(name="Premium", points=550, price_cents=3999)
    login = Client()
    login.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, login.cookies[settings.SESSION_COOKIE_NAME].value)

    choose = browser.get(f"{base}/checkout/points/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', choose.text).group(1)
    started = browser.post(f"{base}/checkout/points/start/", data={"csrfmiddlewaretoken": token,
                                                                   "package": package.pk}, timeout=10)
    session = CheckoutSession.objects.get(user=user, status="active")
    assert started.url == f"{base}/checkout/{session.pk}/"
    stripe_page = browser.post(f"{base}/checkout/{session.pk}/pay/", data={"csrfmiddlewaretoken": token},
                               timeout=10)
    assert "/demo-stripe/cs_test_" in stripe_page.url and "$39.99" in stripe_page.text

    paid = browser.post(stripe_page.url, data={"csrfmiddlewaretoken": token, "action": "pay"}, timeout=10,
                        allow_redirects=False)
    assert paid.status_code == 302 and paid.headers["Location"] == f"{base}/checkout/{session.pk}/result/"

    def credited():
        session.refresh_from_db()
        return session.status == "completed"

    wait_for(credited, timeout=20, what=f"the webhook; server log:\n{log_path.read_text()[-3000:]}")
    assert wallet_balance(user=user).current == 550
    assert WebhookEvent.objects.get().status == "processed"
    result = browser.get(paid.headers["Location"], timeout=10)
    assert "Payment received" in result.text and 'data-balance="550"' in result.text
