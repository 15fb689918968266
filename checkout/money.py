"""Money as the payment boundary speaks it: integer minor units and a lower-case ISO currency, as Stripe does."""

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import models


class Currency(models.TextChoices):
    USD = "usd", "US dollar"
    EUR = "eur", "Euro"
    GBP = "gbp", "Pound sterling"


CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def format_money(cents, currency="usd") -> str:
    """1999, "usd" -> "$19.99". Integer arithmetic only: money never passes through a float."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    symbol = CURRENCY_SYMBOLS.get(str(currency).lower(), str(currency).upper() + " ")
    return f"{sign}{symbol}{intcomma(whole)}.{fraction:02d}"
