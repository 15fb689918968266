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


def format_points(value) -> str:
    """1500 -> "1,500 points", 1 -> "1 point", -20 -> "-20 points": points are written one way everywhere (pages,
    header, e-mails, admin)."""
    value = int(value or 0)
    return f"{intcomma(value)} point{'' if abs(value) == 1 else 's'}"
