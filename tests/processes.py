"""Helpers for tests that start real processes (gunicorn, `make run`, Celery) on loopback ports."""

import socket
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, *, timeout: float, what, interval: float = 0.1):
    """Call ``check`` until it returns something truthy (returned) or ``timeout`` seconds pass (AssertionError
    naming ``what``, which may be a callable giving the description, e.g. a log tail, at failure time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
