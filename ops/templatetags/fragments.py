"""``{% shared_fragments %}``: parts of a page that are the same for every shopper, from the cache (ops/fragments.py).

    {% shared_fragments "shop/product.html" media summary product=product as shared %}
        ... {{ shared.media }} ... {{ shared.summary }}
    {% shared_fragments "shop/partials/package_summary.html" for package in packages as cards %}
        {% for package, shared in cards %} ... {{ shared.html }} ... {% endfor %}

The first argument names a template; the bare names after it are partials (``{% partialdef %}``) of it, rendered
together and cached as one entry -- without any, the whole template is rendered, as ``shared.html``. Only the
``name=value`` arguments (and, with ``for item in items``, each item) are visible to what is rendered: never the
request, the user or the CSRF token. ``for`` renders once per item, with one cache round trip for them all.
``{% fill_in %}`` puts the request's own values into a fragment rendered with placeholders for them.
"""

from django import template
from django.template.base import token_kwargs
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from ops.fragments import shared_fragments_each

register = template.Library()


class SharedFragmentsNode(template.Node):
    def __init__(self, template_name, parts, loop, kwargs, target):
        self.template_name = template_name
        self.parts = parts
        self.loop = loop  # (item name, items expression) or None
        self.kwargs = kwargs
        self.target = target

    def render(self, context):
        values = {name: value.resolve(context) for name, value in self.kwargs.items()}
        name = self.template_name.resolve(context)
        if self.loop is None:
            context[self.target] = shared_fragments_each(name, [values], parts=self.parts)[0]
            return ""
        item_name, items = self.loop
        items = list(items.resolve(context) or [])
        rendered = shared_fragments_each(name, [{**values, item_name: item} for item in items], parts=self.parts)
        context[self.target] = list(zip(items, rendered, strict=True))
        return ""


@register.tag("shared_fragments")
def shared_fragments_tag(parser, token):
    bits = token.split_contents()
    tag = bits.pop(0)
    if len(bits) < 3 or bits[-2] != "as":
        raise template.TemplateSyntaxError(f"{tag} needs a template name and ends with 'as <name>'")
    target = bits[-1]
    bits = bits[:-2]
    template_name = parser.compile_filter(bits.pop(0))
    parts = []
    while bits and "=" not in bits[0] and bits[0] != "for":
        parts.append(bits.pop(0))
    loop = None
    if bits and bits[0] == "for":
        if len(bits) < 4 or bits[2] != "in":
            raise template.TemplateSyntaxError(f"{tag}: 'for <item> in <items>'")
        loop = (bits[1], parser.compile_filter(bits[3]))
        bits = bits[4:]
    kwargs = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(f"{tag}: unexpected {' '.join(bits)!r} (arguments are name=value)")
    return SharedFragmentsNode(template_name, tuple(parts), loop, kwargs, target)


def placeholder(name: str) -> str:
    """What a shared fragment is rendered with where ``{% fill_in %}`` puts the request's ``name``."""
    return f"__{name}_placeholder__"


@register.simple_tag
def fill_in(fragment, **values) -> str:
    """A shared fragment with this request's values, each escaped, where it was rendered with their placeholders
    (``placeholder(name)``):

        {% shared_fragments "partials/site_chrome.html" header_end email="__email_placeholder__" as chrome %}
        {% fill_in chrome.header_end email=user.email %}

    What is per request or per shopper -- the CSRF token, the shopper's email, a form's one-use token -- never
    enters the cache, and one rendering serves everyone."""
    html = str(fragment)
    for name, value in values.items():
        html = html.replace(placeholder(name), conditional_escape("" if value is None else value))
    return mark_safe(html)
