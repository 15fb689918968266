"""``{% url %}`` as Django's, with argument-free reversals remembered (a builtin of the template engine, see
settings.TEMPLATES: it replaces Django's tag in every template, the admin's too).

Every page reverses the same dozen names for its header and forms; each reverse costs tens of microseconds of
pattern walking, about a quarter of a page's template time (bench/render_cache.py, cProfile). A URL without
arguments only changes with the URLconf, the script prefix, the language or the current app, so it is
remembered per resolver (a new URLconf -- ``clear_url_caches()`` -- starts afresh) under the other three.
Reversals with arguments, and failures, go Django's way every time.
"""

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()
REMEMBER = True  # bench/render_cache.py compares with Django's own tag


class RememberingURLNode(defaulttags.URLNode):
    def render(self, context):
        if self.args or self.kwargs or not REMEMBER:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        remembered = get_resolver(get_urlconf()).__dict__.setdefault("_remembered_reversals", {})
        key = (view_name, current_app, get_script_prefix(), get_language())
        url = remembered.get(key)
        if url is None:
            try:
                url = remembered[key] = reverse(view_name, current_app=current_app)
            except NoReverseMatch:
                if self.asvar is None:
                    raise
                url = ""
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)
    return RememberingURLNode(node.view_name, node.args, node.kwargs, node.asvar)
