import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection
from tests.processes import REPO, free_port, wait_for


class ThrowawayRedis:
    """A redis-server of the test's own on a free loopback port, to stop and start at will (never the shared one
    on 6379: other runs use it)."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def client(self, db: int) -> redis.Redis:
        return redis.Redis(port=self.port, db=db)


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


def shop_env(tmp_path, **extra) -> dict:
    """The environment of a shop process (gunicorn, a Celery worker) against the test database; ``extra``
    overrides (e.g. DJANGO_SETTINGS_MODULE, REDIS_URL)."""
    database = connection.settings_dict
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "STRIPE_MODE": "demo",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                            f"{database['NAME']}", "VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING", **extra}


class Gunicorn:
    """gunicorn serving the shop (config.settings) against the test database, on a free loopback port."""

    def __init__(self, tmp_path, workers: int = 1, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        env = shop_env(tmp_path, **(env or {}))
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(workers), "--timeout", "60", "--graceful-timeout", "2"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=60, what="gunicorn")

    def _up(self):
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a first request slow to load
            # the app on a busy machine: ask again until the deadline
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            return False

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)


class CeleryWorker:
    """A Celery worker of the shop against the test database (``env``: at least its broker), its log in tmp_path.
    ``pool``: solo, or prefork with one child process (as deployed, a parent handing tasks to a child)."""

    def __init__(self, tmp_path, env: dict, pool: str = "solo"):
        self.log_path = tmp_path / "worker.log"
        pool_options = ["--pool", pool] + (["--concurrency", "1"] if pool == "prefork" else [])
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", *pool_options,
                 "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=REPO, env=shop_env(tmp_path, **env), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_until_ready(self) -> None:
        wait_for(lambda: "ready" in self.log_path.read_text() or self.process.poll() is not None, timeout=60,
                 what="the worker")
        assert self.process.poll() is None, self.log()

    def log(self) -> str:
        return self.log_path.read_text()[-3000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    server = Gunicorn(tmp_path)
    yield server
    server.stop()
