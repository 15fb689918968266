from django import template

from ops.header import header_figures
from orders.selectors import cart_count

register = template.Library()


@register.inclusion_tag("orders/partials/cart_badge.html", takes_context=True)
def cart_badge(context):
    """The header's cart badge: the count read with the signed-in user (ops.header), or now."""
    request = context["request"]
    figures = header_figures(request)
    return {"count": figures.cart_count if figures else cart_count(user=request.user)}
