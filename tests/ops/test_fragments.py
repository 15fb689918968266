"""ops/fragments.py and its tag: what a fragment's key is made of, what a fragment can see, and what happens when a
value cannot be read into a key."""

import logging

import pytest
from django.template import TemplateSyntaxError, engines
from django.test import RequestFactory
from django.utils.autoreload import file_changed

from ops import fragments
from ops.fragments import Unfingerprintable, fingerprint, shared_fragments, shared_fragments_each
from ops.pagination import PageWithoutCount
from orders.models import CartItem
from shop.models import Product
from tests.factories import ProductFactory, ShopperFactory


@pytest.fixture(autouse=True)
def _empty_fragment_caches(empty_fragment_caches):
    pass


@pytest.fixture
def template_dir(settings, tmp_path):
    """A folder of templates the engine finds first; the code digest is read again for it."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    fragments.code_digest.cache_clear()
    yield tmp_path
    fragments.code_digest.cache_clear()


def test_the_same_row_read_twice_has_the_same_fingerprint(db):
    product = ProductFactory()

    assert fingerprint(Product.objects.get(pk=product.pk)) == fingerprint(Product.objects.get(pk=product.pk))


def test_a_file_field_read_or_not_has_the_same_fingerprint(db):
    # Reading a file field turns the name the row holds into a FieldFile: a fragment rendered before another
    # one of the same page (the product's picture, then its buy box) must not change the second's key.
    product = Product.objects.get(pk=ProductFactory().pk)
    before = fingerprint(product)

    assert product.preview.url
    assert fingerprint(product) == before


@pytest.mark.parametrize("field, value", [("stock", 0), ("title", "Other"), ("description", "Changed."),
                                          ("price_cents", 1), ("price_points", 2), ("currency", "eur"),
                                          ("preview", "previews/other.jpg")])
def test_any_field_a_writer_changes_changes_the_fingerprint(db, field, value):
    product = ProductFactory(stock=1)
    before = fingerprint(Product.objects.get(pk=product.pk))

    Product.objects.filter(pk=product.pk).update(**{field: value})  # set-based: updated_at stays

    assert fingerprint(Product.objects.get(pk=product.pk)) != before


def test_what_a_view_adds_to_a_row_and_its_related_rows_count_too(db):
    shopper = ShopperFactory()
    product = ProductFactory()
    line = CartItem.objects.create(user=shopper, product=product)
    loaded = CartItem.objects.select_related("product").get(pk=line.pk)
    before = fingerprint(loaded)

    loaded.product.title = "Renamed"
    renamed = fingerprint(loaded)
    loaded.savings = 12  # an attribute a view computed

    assert len({before, renamed, fingerprint(loaded)}) == 3


def test_pages_lists_and_dicts_are_read_in_order(db):
    first, second = ProductFactory(), ProductFactory()

    one = PageWithoutCount(rows=[first, second], number=1, has_next=False)
    other_order = PageWithoutCount(rows=[second, first], number=1, has_next=False)
    has_next = PageWithoutCount(rows=[first, second], number=1, has_next=True)

    assert len({fingerprint(one), fingerprint(other_order), fingerprint(has_next)}) == 3
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1}) != fingerprint({"a": 2, "b": 1})


@pytest.mark.parametrize("value", [object(), Product.objects.none(), lambda: 1])
def test_values_whose_content_cannot_be_read_are_refused(value):
    with pytest.raises(Unfingerprintable):
        fingerprint({"value": value})


def test_a_fragment_sees_only_what_it_is_given(db, template_dir):
    (template_dir / "fragment.html").write_text("[{{ product.title }}|{{ user }}|{{ request.path }}|{% csrf_token %}]")
    page = engines["django"].from_string(
        "{% load fragments %}{% shared_fragments 'fragment.html' product=product as shared %}{{ shared.html }}")
    request = RequestFactory().get("/secret-path/")
    request.user = ShopperFactory(email="someone@example.com")

    html = page.render({"product": ProductFactory(title="Dunes")}, request)

    assert html == "[Dunes|||]"


def test_parts_are_rendered_together_and_each_item_once(db, template_dir):
    (template_dir / "parts.html").write_text("{% load partials %}{% partialdef a %}A:{{ n }}{% endpartialdef %}"
                                             "{% partialdef b %}B:{{ n }}{% endpartialdef %}")
    (template_dir / "item.html").write_text("<{{ item }}:{{ label }}>")

    assert shared_fragments("parts.html", {"n": 7}, parts=("a", "b")) == {"a": "A:7", "b": "B:7"}
    page = engines["django"].from_string(
        "{% load fragments %}{% shared_fragments 'item.html' for item in items label='x' as cards %}"
        "{% for item, shared in cards %}{{ item }}={{ shared.html }};{% endfor %}")
    assert page.render({"items": [1, 2]}) == "1=<1:x>;2=<2:x>;"  # rendered markup, not escaped again


def test_a_second_render_is_a_hit_in_memory_then_in_the_shared_cache(db, template_dir, monkeypatch):
    (template_dir / "count.html").write_text("{{ n }}")
    rendered = []
    real_render = fragments._render
    monkeypatch.setattr(fragments, "_render", lambda *args: rendered.append(args) or real_render(*args))

    shared_fragments("count.html", {"n": 1})
    shared_fragments("count.html", {"n": 1})
    fragments.local_cache().clear()
    shared_fragments("count.html", {"n": 1})
    shared_fragments("count.html", {"n": 2})

    assert [args[2] for args in rendered] == [{"n": 1}, {"n": 2}]


def test_a_value_without_a_fingerprint_is_rendered_without_the_cache(db, template_dir, caplog):
    (template_dir / "odd.html").write_text("{{ thing.name }}")

    class Thing:
        name = "odd"

    with caplog.at_level(logging.ERROR, logger="ops.fragments"):
        first = shared_fragments_each("odd.html", [{"thing": Thing()}, {"thing": None}])

    assert [part["html"] for part in first] == ["odd", ""]
    assert "fragment_uncached template=odd.html" in caplog.text
    assert len(fragments.local_cache()._cache) == 1  # only the context that had a key was kept


def test_a_changed_template_changes_the_keys(db, template_dir):
    (template_dir / "edited.html").write_text("old {{ n }}")
    assert shared_fragments("edited.html", {"n": 1})["html"] == "old 1"

    (template_dir / "edited.html").write_text("new {{ n }}")
    engines["django"].engine.template_loaders[0].reset()  # what runserver's autoreloader does for templates
    file_changed.send(sender=None, file_path=template_dir / "edited.html")

    assert shared_fragments("edited.html", {"n": 1})["html"] == "new 1"


def test_nothing_is_cached_when_turned_off(db, template_dir, monkeypatch):
    (template_dir / "plain.html").write_text("{{ n }}")
    monkeypatch.setattr(fragments, "ENABLED", False)

    assert shared_fragments("plain.html", {"n": 3})["html"] == "3"
    assert not fragments.local_cache()._cache


@pytest.mark.parametrize("tag", ["{% shared_fragments 'x.html' %}", "{% shared_fragments 'x.html' as %}",
                                 "{% shared_fragments 'x.html' for item items as cards %}",
                                 "{% shared_fragments 'x.html' part n=1 stray as cards %}"])
def test_malformed_tags_are_template_syntax_errors(tag):
    with pytest.raises(TemplateSyntaxError):
        engines["django"].from_string("{% load fragments %}" + tag)


def test_fill_in_puts_each_value_escaped_where_its_placeholder_stands():
    template = engines["django"].from_string(
        '{% load fragments %}{% fill_in html csrf_token=token email=email missing=nothing %}')

    rendered = template.render({"html": '<input value="__csrf_token_placeholder__"><b>__email_placeholder__</b>'
                                        "__email_placeholder__ __missing_placeholder__",
                                "token": "abc123", "email": "o'brien&co@example.com"})

    assert rendered == ('<input value="abc123"><b>o&#x27;brien&amp;co@example.com</b>'
                        "o&#x27;brien&amp;co@example.com ")
