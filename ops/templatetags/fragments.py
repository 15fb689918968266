"""``{% shared_fragments %}``: parts of a page that are the same for every shopper, from the cache (ops/fragments.py).

    {% shared_fragments "shop/product.html" media summary product=product as shared %}
        ... {{ shared.media }} ... {{ shared.summary }}
    {% shared_fragments "shop/partials/package_summary.html" for package in packages as cards %}
        {% for package, shared in cards %} ... {{ shared.html }} ... {% endfor %}

The first argument names a template; the bare names after it are partials (``{% partialdef %}``) of it, rendered
together and cached as one entry -- without any, the whole template is rendered, as ``shared.html``. Only the
``name=value`` arguments (and, with ``for item in items``, each item) are visible to what is rendered: never the
request, the user or the CSRF token. ``for`` renders once per item, with one cache round trip for them all.
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


CSRF_PLACEHOLDER = "__csrf_token_placeholder__"
EMAIL_PLACEHOLDER = "__shopper_email_placeholder__"


@register.filter
def with_csrf_token(fragment: str, token) -> str:
    """A shared fragment's forms with this request's CSRF token where the fragment was rendered with
    ``csrf_placeholder="__csrf_token_placeholder__"`` (the token is per request; the fragment is not)."""
    return mark_safe(str(fragment).replace(CSRF_PLACEHOLDER, str(token or "")))


@register.filter
def with_email_of(fragment: str, user) -> str:
    """A shared fragment with ``user``'s email (escaped; none for a visitor) where it was rendered with
    ``email="__shopper_email_placeholder__"``: one rendering then serves every shopper of a role, not one each
    (a shop with many shoppers, most seen once in a while, would mostly miss)."""
    return mark_safe(str(fragment).replace(EMAIL_PLACEHOLDER, conditional_escape(getattr(user, "email", ""))))
