"""`make run` boots the embedded stack (SQLite, filesystem broker, demo payments): web, worker and beat come up,
a beat-scheduled task runs through the worker, the demo shopper can log in and browse, and Ctrl-C stops it all."""

import os
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests
from tests.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
STACK_VARIABLES = ["DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
                   "STRIPE_MODE", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "MEDIA_ROOT", "SECRET_KEY",
                   "SITE_URL", "STRIPE_FAKE_WEBHOOK_URL"]

pytestmark = pytest.mark.smoke


@pytest.fixture
def embedded_env(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in STACK_VARIABLES}
    env.update({"DEBUG": "true", "VAR_DIR": str(tmp_path / "var"), "PORT": str(free_port()),
                "WEB_CONCURRENCY": "2", "WORKER_CONCURRENCY": "1", "BIND_ADDRESS": "127.0.0.1"})
    python = str(REPO / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True,
                   timeout=180)
    # The heartbeat runs every minute in production; every second here, so the test sees beat -> worker quickly.
    speed_up = ("from django_celery_beat.models import IntervalSchedule, PeriodicTask; "
                "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds'); "
                "assert PeriodicTask.objects.filter(name='shop.heartbeat').update(interval=every) == 1")
    subprocess.run([python, "manage.py", "shell", "--no-imports", "-c", speed_up], cwd=REPO, env=env, check=True,
                   timeout=60)
    return env


def heartbeat_seen(database: Path):
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return connection.execute("SELECT seen_at FROM shop_heartbeat WHERE name = 'celery'").fetchone()
    except sqlite3.OperationalError:
        return None


def test_make_run_boots_web_worker_and_beat_and_stops_on_ctrl_c(embedded_env, tmp_path):
    base = f"http://127.0.0.1:{embedded_env['PORT']}"
    log_path = tmp_path / "make-run.log"
    with open(log_path, "w") as log:
        stack = subprocess.Popen(["make", "run"], cwd=REPO, env=embedded_env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        def healthy():
            try:
                response = requests.get(f"{base}/healthz", timeout=10)
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a slow first answer
                assert stack.poll() is None, log_path.read_text()[-3000:]
                return None
            return response if response.status_code == 200 else None

        health = wait_for(healthy, timeout=240, what="/healthz")
        assert health.json() == {"database": "ok", "broker": "ok", "cache": "ok", "status": "ok"}

        assert wait_for(lambda: heartbeat_seen(Path(embedded_env["VAR_DIR"]) / "db.sqlite3"), timeout=90,
                        what="the beat-scheduled heartbeat task to run in the worker")

        browser = requests.Session()
        login_page = browser.get(f"{base}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        logged_in = browser.post(f"{base}/accounts/login/", timeout=10, headers={"Referer": f"{base}/accounts/login/"},
                                 data={"csrfmiddlewaretoken": token, "username": "shopper@example.com",
                                       "password": "shop-demo-2026"})
        assert logged_in.status_code == 200
        assert 'id="balance-badge"' in logged_in.text
        assert "Aurora Over Fjords" in logged_in.text
        # Pay for a product with the demo shopper's welcome points: the worker sends the confirmation email (the
        # console backend prints it to the worker's log) from the task queued after the order committed.
        product_page = browser.get(f"{base}/products/quiet-orchard/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', product_page.text).group(1)
        product_id = re.search(r'name="product_id" value="(\d+)"', product_page.text).group(1)
        browser.post(f"{base}/cart/add/", data={"csrfmiddlewaretoken": token, "product_id": product_id},
                     headers={"Referer": base + "/"}, timeout=10)
        cart = browser.get(f"{base}/cart/", timeout=10)
        checkout_token = re.search(r'name="checkout_token" value="([^"]+)"', cart.text).group(1)
        paid = browser.post(f"{base}/cart/pay/points/", timeout=10, headers={"Referer": base + "/cart/"},
                            data={"csrfmiddlewaretoken": token, "checkout_token": checkout_token})
        assert "is paid" in paid.text and 'data-balance="820"' in paid.text  # 1000 welcome points - 180
        assert wait_for(lambda: "Your receipt for order" in log_path.read_text(), timeout=60,
                        what="the worker to send the order confirmation email")
        # ...and the demo mailbox keeps it for the newcomer to read
        assert "Your receipt for order" in browser.get(f"{base}/demo-mailbox/", timeout=10).text
        # Buy the Basic package (500 points) on the demo Stripe page: its webhook reaches this port because
        # `make run` sets SITE_URL from PORT.
        choose = browser.get(f"{base}/checkout/points/", timeout=10)
        package_id = re.search(r'name="package" value="(\d+)"', choose.text).group(1)
        review = browser.post(f"{base}/checkout/points/start/", timeout=10, headers={"Referer": choose.url},
                              data={"csrfmiddlewaretoken": token, "package": package_id})
        stripe_page = browser.post(f"{review.url}pay/", timeout=10, headers={"Referer": review.url},
                                   data={"csrfmiddlewaretoken": token})
        assert stripe_page.url.startswith(f"{base}/demo-stripe/cs_test_") and "$4.99" in stripe_page.text
        card_paid = browser.post(stripe_page.url, data={"csrfmiddlewaretoken": token, "action": "pay"}, timeout=10,
                                 headers={"Referer": stripe_page.url})
        assert wait_for(lambda: "Payment received" in browser.get(card_paid.url, timeout=10).text, timeout=30,
                        what=f"the demo Stripe's webhook; log:\n{log_path.read_text()[-3000:]}")
        assert 'data-balance="1320"' in browser.get(card_paid.url, timeout=10).text  # 820 + 500

        stylesheet = re.search(r'href="(/static/shop/shop(?:\.[0-9a-f]+)?\.css)"', logged_in.text).group(1)
        assert browser.get(base + stylesheet, timeout=10).status_code == 200
    finally:
        os.killpg(stack.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            raise AssertionError("make run did not stop on Ctrl-C:\n" + log_path.read_text()[-3000:])

    def group_gone():
        try:
            os.killpg(stack.pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(group_gone, timeout=30, what="web, worker and beat to exit")
    assert not (REPO / "control").exists(), "the filesystem broker wrote outside VAR_DIR"
