"""``{% url %}`` remembers argument-free reversals (ops/templatetags/urls.py) and otherwise answers as Django's."""

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, include, path, set_script_prefix
from django.urls.base import get_script_prefix

from ops.templatetags import urls as url_tag


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("remember", [True, False])
def test_the_tag_answers_as_djangos_own(monkeypatch, remember):
    monkeypatch.setattr(url_tag, "REMEMBER", remember)

    assert render("{% url 'shop:catalog' %}|{% url 'shop:packages' %}") == "/|/points/"
    assert render("{% url 'shop:product' slug='dunes' %}|{% url 'shop:product' name %}", name="x") == \
        "/products/dunes/|/products/x/"
    assert render("{% url 'no-such-page' as missing %}[{{ missing }}]") == "[]"
    assert render("{% url view as found %}{{ found }}", view="orders:cart") == "/cart/"
    assert render("<a href='{% url 'shop:catalog' %}?q=1&amp;x'>") == "<a href='/?q=1&amp;x'>"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-page' %}")


def test_a_reversal_is_remembered_until_the_urlconf_changes():
    assert render("{% url 'shop:packages' %}") == "/points/"

    with override_settings(ROOT_URLCONF=__name__):  # clears the URL caches, as tests and reloads do
        assert render("{% url 'shop:packages' %}") == "/elsewhere/points/"
    clear_url_caches()

    assert render("{% url 'shop:packages' %}") == "/points/"


def test_the_script_prefix_is_part_of_what_is_remembered():
    assert render("{% url 'shop:packages' %}") == "/points/"
    before = get_script_prefix()
    set_script_prefix("/shop/")
    try:
        assert render("{% url 'shop:packages' %}") == "/shop/points/"
    finally:
        set_script_prefix(before)
    assert render("{% url 'shop:packages' %}") == "/points/"


def _packages(request):  # a view for the URLconf below; never called
    raise AssertionError


urlpatterns = [path("elsewhere/", include(([path("points/", _packages, name="packages")], "shop")))]
