from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from wallet.selectors import wallet_balance

register = template.Library()


@register.inclusion_tag("wallet/partials/balance_badge.html", takes_context=True)
def balance_badge(context):
    """The header's balance badge, read from the database while the page renders (one query)."""
    return {"balance": wallet_balance(user=context["request"].user)}


@register.filter
def signed_points(value):
    """500 -> "+500 pts", -1200 -> "−1,200 pts": a ledger amount with its direction spelled out."""
    value = int(value or 0)
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    return f"{sign}{intcomma(abs(value))} pts"
