"""The demo's production path over real HTTP: gunicorn with ONE sync worker serves the shop; the demo Stripe
page's Pay delivers the signed webhook with a real POST from a background thread, back into that same worker.
A synchronous self-request would deadlock here; this proves it does not."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from checkout.models import CheckoutSession, WebhookEvent
from tests.factories import PointsPackageFactory, UserFactory
from wallet.selectors import wallet_balance
from tests.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def one_worker_server(transactional_db, tmp_path, settings):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = connection.settings_dict
    # The fake Stripe's webhooks go to this server, from its own process (SITE_URL gives the default endpoint,
    # as `make run` does) and from the test's (a test may act as Stripe directly).
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "STRIPE_MODE": "demo",
           "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
           "VAR_DIR": str(tmp_path / "var"), "SITE_URL": base}
    env.pop("STRIPE_FAKE_WEBHOOK_URL", None)
    settings.STRIPE_FAKE_WEBHOOK_URL = f"{base}/webhooks/stripe/"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--worker-class", "sync", "--timeout", "30"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def up():
        try:
            return requests.get(f"{base}/checkout/points/", timeout=2, allow_redirects=False).status_code
        except requests.ConnectionError:
            assert server.poll() is None, log_path.read_text()[-3000:]
            return None

    try:
        wait_for(up, timeout=60, what="gunicorn")
        yield base, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)


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
