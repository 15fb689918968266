"""Playwright driving Debian's chromium (never a downloaded browser build) against pytest-django's live server.

Each test gets a fresh context; its final screenshot is saved under test-artifacts/browser/, and a failing test
also keeps its Playwright trace there."""

import re
from pathlib import Path

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import sync_playwright

from config.celery import app as celery_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context_options() -> dict:
    """Extra options for the browser context; a test module overrides this fixture (e.g. JavaScript off)."""
    return {}


@pytest.fixture
def page(chromium, live_server, request, context_options):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1200, "height": 800},
                                   **context_options)
    context.set_default_timeout(10_000)
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None) is None or request.node.report_call.failed
    for number, open_page in enumerate(context.pages, start=1):  # a test may open more tabs: each one's final state
        suffix = "" if number == 1 else f"-tab{number}"
        open_page.screenshot(path=ARTIFACTS / f"{name}{suffix}.png", full_page=True)
    trace = ARTIFACTS / f"{name}-trace.zip"
    context.tracing.stop(path=trace if failed else None)
    if not failed:
        trace.unlink(missing_ok=True)  # a trace left from an earlier failing run would mislead
    context.close()


@pytest.fixture(autouse=True)
def fake_stripe_webhooks_to_live_server(live_server, settings):
    """The fake Stripe's account sends its webhooks to the live server the browser is using (held ones too, for
    ``held_webhooks.post``)."""
    settings.STRIPE_FAKE_WEBHOOK_URL = f"{live_server.url}/webhooks/stripe/"


@pytest.fixture
def celery_worker(live_server):
    """A Celery worker (in a thread of this process, so on the test database) for the tasks the pages queue.
    Tasks left in the test broker by earlier runs, about rows long gone, are dropped first."""
    celery_app.control.purge()
    # Logging stays as pytest set it up: with a receiver for setup_logging, Celery leaves the root logger alone.
    # Celery's once-per-process flags are put back afterwards, so the next embedded worker (test_beat.py) starts
    # as in a fresh process; otherwise it would leave the root logger at ERROR and later tests' caplog empty.
    log_class, loader = type(celery_app.log), celery_app.loader
    flags = log_class._setup, loader.worker_initialized
    signals.setup_logging.connect(_leave_logging_alone)
    try:
        with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        signals.setup_logging.disconnect(_leave_logging_alone)
        log_class._setup, loader.worker_initialized = flags


def _leave_logging_alone(**kwargs):
    pass
