from django import template
from checkout.money import format_points
from ops.header import header_figures
from wallet.selectors import wallet_balance

register = template.Library()


@register.inclusion_tag("wallet/partials/balance_badge.html", takes_context=True)
def balance_badge(context):
    """The header's balance badge: read from the database with the signed-in user (ops.header), or now."""
    request = context["request"]
    figures = header_figures(request)
    return {"balance": figures.balance if figures else wallet_balance(user=request.user)}


@register.filter
def signed_points(value):
    """500 -> "+500 points", -1200 -> "−1,200 points": a ledger amount with its direction spelled out."""
    value = int(value or 0)
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    return f"{sign}{format_points(abs(value))}"
