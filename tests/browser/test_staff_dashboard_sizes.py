"""The staff dashboard and the admin index on a phone and a desktop: nothing wider than the screen, and amounts
never broken across lines (wide tables scroll inside their box instead)."""

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import sign_in
from tests.factories import StaffFactory

LINES_OF = """cell => { const range = document.createRange(); range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size; }"""


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_the_dashboard_fits_the_screen_and_keeps_amounts_whole(page, live_server, width, height):
    sign_in(page.context, StaffFactory(), base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    for path, name in (("/admin/dashboard/", "dashboard"), ("/admin/", "admin-index")):
        page.goto(path)
        page.screenshot(path=ARTIFACTS / f"staff-{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto("/admin/dashboard/")
    assert page.locator("#sales-cents").evaluate(LINES_OF) == 1
    assert page.locator("#sales caption").evaluate(LINES_OF) == 1
    page.goto("/admin/")
    link = page.locator("#shop-dashboard-link h2 a")
    assert link.evaluate(LINES_OF) == 1
    # readable: the link's colour is not its box's background colour
    colours = link.evaluate("a => [getComputedStyle(a).color, getComputedStyle(a.parentElement).backgroundColor]")
    assert colours[0] != colours[1]
