"""Every htmx action disables what sent it while in flight (no double submit; shop.css spins the disabled button).
Checked over the templates themselves, so an action added later without it fails here."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ACTIONS = ("hx-post", "hx-put", "hx-patch", "hx-delete")


class ActionFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.actions: list[tuple[int, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if any(name in attributes for name in ACTIONS):
            self.actions.append((self.getpos()[0], attributes))


def htmx_actions():
    for template in sorted(TEMPLATES.rglob("*.html")):
        finder = ActionFinder()
        finder.feed(template.read_text())
        for line, attributes in finder.actions:
            yield pytest.param(attributes, id=f"{template.relative_to(TEMPLATES)}:{line}")


def test_there_are_htmx_actions_to_check():
    assert len(list(htmx_actions())) >= 6


@pytest.mark.parametrize("attributes", list(htmx_actions()))
def test_every_htmx_action_disables_its_button_while_in_flight(attributes):
    assert attributes.get("hx-disabled-elt"), attributes
