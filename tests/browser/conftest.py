"""Playwright driving Debian's chromium (never a downloaded browser build) against pytest-django's live server.

Each test gets a fresh context; its final screenshot is saved under test-artifacts/browser/, and a failing test
also keeps its Playwright trace there."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

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
def page(chromium, live_server, request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1200, "height": 800})
    context.set_default_timeout(10_000)
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None) is None or request.node.report_call.failed
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    context.tracing.stop(path=ARTIFACTS / f"{name}-trace.zip" if failed else None)
    context.close()
