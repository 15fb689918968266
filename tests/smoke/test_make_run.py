"""`make run` boots the embedded stack (SQLite, filesystem broker, demo payments): web, worker and beat come up,
listening on loopback only, a beat-scheduled task runs through the worker, the demo shopper can log in and browse,
and Ctrl-C stops it all cleanly: status 0, no error line, nothing left running. The Procfile's web command binds
loopback unless BIND_ADDRESS says otherwise (production sets 0.0.0.0)."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests
from tests.processes import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
STACK_VARIABLES = ["BIND_ADDRESS", "WORKER_POOL", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
                   "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_MODE", "DJANGO_SETTINGS_MODULE",
                   "DJANGO_ALLOW_ASYNC_UNSAFE", "MEDIA_ROOT", "SECRET_KEY", "SITE_URL", "STRIPE_FAKE_WEBHOOK_URL"]

pytestmark = pytest.mark.smoke


@pytest.fixture
def embedded_env(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in STACK_VARIABLES}
    env.update({"DEBUG": "true", "VAR_DIR": str(tmp_path / "var"), "PORT": str(free_port()),
                "WEB_CONCURRENCY": "2", "WORKER_CONCURRENCY": "1"})  # make run's own bind address
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


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                addresses.add(address if width == 32 else socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


@pytest.mark.parametrize("bind_address, expected", [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_the_procfile_web_command_binds_loopback_unless_told_otherwise(bind_address, expected):
    web = next(line.split(":", 1)[1] for line in (REPO / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    env = {key: value for key, value in os.environ.items() if key != "BIND_ADDRESS"}
    env.update({"PORT": "8123", "PATH": f"{REPO / '.venv' / 'bin'}:{env['PATH']}"})
    if bind_address:
        env["BIND_ADDRESS"] = bind_address
    printed = subprocess.run(["sh", "-c", web + " --print-config"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=60, check=True).stdout
    assert re.search(r"^bind\s+= \['(.*)'\]$", printed, re.MULTILINE).group(1) == f"{expected}:8123"


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
        # DEBUG is on: its pages are for this machine only
        assert listening_addresses(int(embedded_env["PORT"])) == {"127.0.0.1"}
        assert "listening on 127.0.0.1" in log_path.read_text()

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

    # A clean stop: the recipe ends with status 0, so make reports no error; make itself, in the foreground group
    # like honcho, then dies of the same SIGINT, silently, as any program stopped with Ctrl-C does (a shell says
    # 130). Where SIGINT reached make ignored (a background job of a non-interactive shell), make says 0.
    log = log_path.read_text()
    assert stack.returncode in (-signal.SIGINT, 0), log[-3000:]
    stopping = log[log.index("SIGINT received"):]
    for trouble in ("ERROR", "Error", "Traceback", "exited with", "SIGKILL", "make: ***"):
        assert trouble not in stopping, stopping
    assert stopping.rstrip().endswith("Stopped."), stopping

    def group_gone():
        try:
            os.killpg(stack.pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(group_gone, timeout=30, what="web, worker and beat to exit")
    assert not (REPO / "control").exists(), "the filesystem broker wrote outside VAR_DIR"
