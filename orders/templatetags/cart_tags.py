from django import template

from orders.selectors import cart_count

register = template.Library()


@register.inclusion_tag("orders/partials/cart_badge.html", takes_context=True)
def cart_badge(context):
    return {"count": cart_count(user=context["request"].user)}
