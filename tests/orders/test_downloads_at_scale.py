"""Large downloads against the Procfile's own web command (gunicorn, two workers, PostgreSQL, Redis) on both storages:
buyers who stall in the middle of a download never keep the catalog from answering, and a download that takes
more than a minute arrives whole."""

import hashlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files import File
from django.db import connection
from django.test import Client
from django.urls import reverse

from orders.downloads import download_token
from orders.services.placement import order_pay_with_points
from tests.factories import ProductFactory, ShopperFactory
from tests.processes import REPO, free_port, wait_for

MB = 1024 * 1024
WORKERS = 2
# Read at 2 MB/s, as in the report that found gunicorn killing downloads half-way: 124 MB take 62 s.
LARGE_FILE_SIZE = 124 * MB
SLOW_READER_BYTES_PER_SECOND = 2 * MB


def procfile_command(process: str) -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} process in the Procfile")


class ProcfileWeb:
    """The Procfile's web command, run by a shell as a platform runs it, on a free loopback port with WORKERS
    workers, against the test database; ``environment`` adds the storage's variables."""

    def __init__(self, tmp_path, environment: dict[str, str]):
        database = connection.settings_dict
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "web.log"
        env = {**os.environ, **environment, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "STRIPE_MODE": "demo",
               "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                               f"{database['NAME']}", "VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING",
               "PORT": str(self.port), "BIND_ADDRESS": "127.0.0.1", "WEB_CONCURRENCY": str(WORKERS)}
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(["bash", "-c", f"exec {procfile_command('web')}"], cwd=REPO, env=env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(self._up, timeout=60, what="the Procfile's web process")
        except BaseException:
            self.stop()
            raise

    def _up(self):
        try:
            return requests.get(f"{self.base}/healthz", timeout=5).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            return False

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture(scope="module")
def large_file(tmp_path_factory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("large") / "harbour-raw.zip"
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        for _ in range(LARGE_FILE_SIZE // MB):
            block = os.urandom(MB)
            digest.update(block)
            file.write(block)
    yield path, digest.digest()
    path.unlink()


@pytest.fixture
def environment(product_storage, s3_server, settings) -> dict[str, str]:
    if product_storage == "filesystem":
        return {}
    return s3_server.environment(settings.STORAGES["default"]["OPTIONS"]["bucket_name"])


@pytest.fixture
def web(transactional_db, tmp_path, environment):
    server = ProcfileWeb(tmp_path, environment)
    yield server
    server.stop()


@pytest.fixture
def purchase(transactional_db, product_storage, large_file):
    """A buyer signed in (their session cookie) and the download path of a paid order of a large file."""
    product = ProductFactory(title="Harbour Raw", slug="harbour-raw", price_points=100)
    with open(large_file[0], "rb") as file:
        product.image.save("harbour-raw.zip", File(file))
    buyer = ShopperFactory(points=500)
    from orders.services.cart import cart_add

    cart_add(user=buyer, product_id=product.pk)
    order = order_pay_with_points(user=buyer, idempotency_key="test:large")
    client = Client()
    client.force_login(buyer)
    yield (client.cookies["sessionid"].value,
           reverse("orders:download", args=[download_token(item=order.items.get(), user_id=buyer.pk)]))
    product.image.delete(save=False)


class Download:
    """A download over a raw socket, so that the test decides when (and how fast) the body is read. On object
    storage the shop answers a redirect and the transfer is with the storage, as a browser would follow it."""

    def __init__(self, web, session_id: str, path: str):
        self.received = 0
        self.sock, status, headers = self._request(web.base + path, f"sessionid={session_id}")
        if status == 302:
            self.sock.close()
            self.sock, status, headers = self._request(headers["location"], None)
        assert status == 200, (status, headers)
        self.length = int(headers["content-length"])
        assert headers["content-disposition"].startswith('attachment; filename="harbour-raw.')
        self.digest = hashlib.sha256(self._leftover)
        self.received = len(self._leftover)

    def _request(self, url: str, cookie: str | None):
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        # A small receive window: a stalled reader holds back nearly the whole file instead of the kernel buffering
        # megabytes of it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        sock.sendall((request + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(16 * 1024)
            assert chunk, head
            head += chunk
        head, _, self._leftover = head.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        return sock, int(status_line.split()[1]), headers

    def read_rest(self, bytes_per_second: float | None = None) -> bytes:
        started = time.monotonic()
        while self.received < self.length:
            chunk = self.sock.recv(256 * 1024)
            if not chunk:
                break
            self.digest.update(chunk)
            self.received += len(chunk)
            if bytes_per_second:
                # Sleep until the time at which a reader at this rate would have received this much.
                time.sleep(max(0.0, started + self.received / bytes_per_second - time.monotonic()))
        self.sock.close()
        return self.digest.digest()


def _catalog_answer_time(web) -> float:
    started = time.monotonic()
    response = requests.get(f"{web.base}/", timeout=30)
    assert response.status_code == 200 and "Harbour Raw" in response.text
    return time.monotonic() - started


@pytest.mark.parametrize("product_storage", ["filesystem", "object storage"], indirect=True)
def test_stalled_downloads_never_keep_the_catalog_from_answering(product_storage, purchase, web, large_file):
    # given: more buyers than the shop has workers, each stalled in the middle of downloading a 124 MB file
    session_id, path = purchase
    stalled = [Download(web, session_id, path) for _ in range(2 * WORKERS)]
    time.sleep(1)

    # then: the catalog answers every time, and quickly
    answer_times = [_catalog_answer_time(web) for _ in range(10)]
    assert max(answer_times) < 1, answer_times
    # ...while every download is still waiting for its reader, far from complete
    assert all(download.received < download.length // 2 for download in stalled)

    # and: a stalled buyer who comes back gets the whole file
    assert stalled[0].read_rest() == large_file[1]
    for download in stalled[1:]:
        download.sock.close()
    assert "WORKER TIMEOUT" not in web.log_path.read_text()


@pytest.mark.parametrize("product_storage", ["filesystem"], indirect=True)
def test_a_download_longer_than_a_minute_arrives_whole(product_storage, purchase, web, large_file):
    """On the filesystem without a web server in front, the web process carries the transfer: gunicorn's worker
    timeout (30 s) must not cut it. (On object storage the transfer is between the buyer and the storage.)"""
    session_id, path = purchase
    download = Download(web, session_id, path)

    started = time.monotonic()
    digest = download.read_rest(SLOW_READER_BYTES_PER_SECOND)
    took = time.monotonic() - started

    assert download.received == LARGE_FILE_SIZE and digest == large_file[1]
    assert took > 60, took
    # ...and no worker was killed or replaced on the way
    log = web.log_path.read_text()
    assert "WORKER TIMEOUT" not in log and log.count("Booting worker") == WORKERS, log


def test_the_procfile_runs_threaded_workers():
    """The decision measured in README (Downloads at scale): sync workers leave the catalog unanswered while they
    stream downloads."""
    command = shlex.split(procfile_command("web"))
    assert command[command.index("--worker-class") + 1].endswith(":-gthread}")
