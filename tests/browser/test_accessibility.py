"""axe-core (the copy axe-playwright-python ships) finds no WCAG 2.1 A/AA or best-practice violation on any page of
tests/browser/pages.py: signed out, signed in and as staff, on a desktop and on a phone. Each page is also checked
to be what it claims (its status), so a page that quietly became the log-in page would not pass for itself, and
to be no wider than the screen (nothing to scroll sideways at 390 px)."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import sign_in
from tests.browser.pages import ANONYMOUS, SHOPPER, STAFF, STAFF_WITHOUT_RIGHTS, build_scene, pages_for, user_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# axe-core's experimental rules run only when named: label-content-name-mismatch (WCAG 2.5.3, the visible label
# inside the accessible name) is one, and a screen-reader or voice-control user meets what it finds.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice",
                                                     "experimental"]},
               "resultTypes": ["violations"]}
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
AXE = Axe()


def axe_violations(page, *, rules_off=()) -> list[str]:
    """One line per violation on the page as it is now: rule, impact and the elements it names."""
    options = {**AXE_OPTIONS, "rules": {rule: {"enabled": False} for rule in rules_off}}
    results = AXE.run(page, options=options).response
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} -- "
            + "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                        for node in violation["nodes"][:5])
            for violation in results["violations"]]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("audience", [ANONYMOUS, SHOPPER, STAFF, STAFF_WITHOUT_RIGHTS])
def test_every_page_has_no_axe_violations(page, live_server, settings, audience, size):
    scene = build_scene(live_server.url)
    if user := user_for(scene, audience):
        sign_in(page.context, user, base_url=live_server.url)
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})

    found, visited, too_wide = {}, [], []
    for entry in pages_for(audience):
        status = entry.open(page, scene, settings)
        assert status == entry.status, f"{entry.name}: answered {status} at {page.url}"
        visited.append(entry.name)
        if (scroll_width := page.evaluate("document.documentElement.scrollWidth")) > width:
            too_wide.append(f"{entry.name} ({page.url}) is {scroll_width} px wide on a {width} px screen")
        slug = re.sub(r"\W+", "-", f"{audience}-{entry.name}-{size}")
        page.screenshot(path=ARTIFACTS / f"axe-{slug}.png", full_page=True)
        if violations := axe_violations(page, rules_off=[rule for rule, _why in entry.not_ours]):
            found[f"{entry.name} ({page.url})"] = violations

    assert visited, f"no page is listed for {audience}"
    report = "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())
    assert not found, f"axe-core violations {audience}, {size}:\n{report}"
    assert not too_wide, "\n".join(too_wide)
