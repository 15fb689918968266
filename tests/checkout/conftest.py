import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.processes import REPO, free_port, wait_for


@pytest.fixture
def one_worker_server(transactional_db, tmp_path, settings):
    """gunicorn with ONE sync worker serving the shop (config.settings) on the test database, and the fake
    Stripe's webhooks sent to it; yields its base URL and the path of its log."""
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
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to answer its first request
            assert server.poll() is None, log_path.read_text()[-3000:]
            return None

    try:
        wait_for(up, timeout=60, what="gunicorn")
        yield base, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
