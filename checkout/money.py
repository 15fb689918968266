"""Money as the payment boundary speaks it: integer minor units and a lower-case ISO currency, as Stripe does."""

import re

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


MONEY_INPUT = re.compile(r"(?P<symbol>[^\d\s.,-]+)?\s*(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<fraction>\d*))?")


def parse_money(text: str, currency: str = "usd") -> int:
    """What staff type, as money ("19.99", "$1,250", "0.5"), to integer cents: 1999, 125000, 50. Raises
    ``ValueError`` with a message meant for them: not a number, more than two decimals, zero or less, or another
    currency's symbol. Only string and integer arithmetic: never a float."""
    currency = str(currency).lower()
    symbol = CURRENCY_SYMBOLS.get(currency, currency.upper())
    cleaned = (text or "").strip()
    if cleaned.startswith("-"):
        raise ValueError("Enter an amount above zero.")
    if cleaned.upper().endswith(currency.upper()):
        cleaned = cleaned[:-len(currency)].strip()
    match = MONEY_INPUT.fullmatch(cleaned)
    if not cleaned or match is None or not (match["whole"] or match["fraction"]):
        raise ValueError(f"Enter an amount of money such as 19.99 (in {currency.upper()}).")
    if match["symbol"] and match["symbol"] not in (symbol, currency.upper()):
        raise ValueError(f"This amount is in {currency.upper()} ({symbol}): {match['symbol']} is another currency.")
    fraction = match["fraction"] or ""
    if len(fraction) > 2:
        raise ValueError(f"Enter at most two decimals: {symbol}0.01 is the smallest amount.")
    cents = int((match["whole"] or "0").replace(",", "")) * 100 + int(fraction.ljust(2, "0"))
    if cents < 1:
        raise ValueError("Enter an amount above zero.")
    return cents
