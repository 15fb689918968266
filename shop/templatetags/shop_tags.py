from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


@register.filter
def money(cents, currency="usd"):
    """1999, "usd" -> "$19.99". Integer arithmetic only: money never passes through a float."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    symbol = CURRENCY_SYMBOLS.get(str(currency).lower(), str(currency).upper() + " ")
    return f"{sign}{symbol}{intcomma(whole)}.{fraction:02d}"


@register.filter
def points(value):
    return f"{intcomma(int(value or 0))} pts"
