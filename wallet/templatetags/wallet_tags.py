from django import template

from wallet.selectors import wallet_balance

register = template.Library()


@register.inclusion_tag("wallet/partials/balance_badge.html", takes_context=True)
def balance_badge(context):
    """The header's balance badge, read from the database while the page renders (one query)."""
    return {"balance": wallet_balance(user=context["request"].user)}
