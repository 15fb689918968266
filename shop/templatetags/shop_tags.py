from datetime import timedelta

from django import template
from django.conf import settings
from django.utils import timezone

from checkout.money import format_money, format_points

register = template.Library()

# Stripe confirms a card payment within seconds; one still unconfirmed after this long is worth saying so (and
# offering "check again", which asks Stripe instead of waiting for its webhook).
PENDING_TOO_LONG = timedelta(minutes=5)


@register.filter
def money(cents, currency="usd"):
    return format_money(cents, currency)


@register.filter
def points(value):
    """1500 -> "1,500 points", 1 -> "1 point": the one way the shop writes a number of points."""
    return format_points(value)


@register.filter
def pending_too_long(since):
    """Whole minutes a payment has been pending since ``since``, once that is PENDING_TOO_LONG or more; else 0."""
    if since is None:
        return 0
    waited = timezone.now() - since
    return int(waited.total_seconds() // 60) if waited >= PENDING_TOO_LONG else 0


@register.simple_tag
def demo_payments() -> bool:
    """In demo mode the demo payment page stands in for Stripe's: pages waiting on a payment link back to it, where
    a bank debit is made to clear or fail (with the real Stripe, the bank decides)."""
    return settings.STRIPE_MODE == "demo"
