"""Staff type money as money ("19.99"): parsed to integer cents, with errors that say what to type."""

import pytest
from django import forms

from checkout.forms import MoneyField
from checkout.money import parse_money


@pytest.mark.parametrize("typed, cents", [
    ("19.99", 1999), ("19", 1900), ("19.9", 1990), (".5", 50), ("0.01", 1), ("$1,234.56", 123456),
    ("  7.00 ", 700), ("19.99 USD", 1999), ("USD 5", 500), ("1234567", 123456700),
])
def test_amounts_typed_as_money_become_cents(typed, cents):
    assert parse_money(typed, "usd") == cents


@pytest.mark.parametrize("typed, currency, message", [
    ("19.999", "usd", "Enter at most two decimals: $0.01 is the smallest amount."),
    ("abc", "usd", "Enter an amount of money such as 19.99 (in USD)."),
    ("", "usd", "Enter an amount of money such as 19.99 (in USD)."),
    ("1.2.3", "usd", "Enter an amount of money such as 19.99 (in USD)."),
    ("1,23", "usd", "Enter an amount of money such as 19.99 (in USD)."),
    ("-5", "usd", "Enter an amount above zero."),
    ("0.00", "usd", "Enter an amount above zero."),
    ("€5", "usd", "This amount is in USD ($): € is another currency."),
    ("$5", "eur", "This amount is in EUR (€): $ is another currency."),
])
def test_what_is_not_money_is_refused_with_a_reason(typed, currency, message):
    with pytest.raises(ValueError) as refused:
        parse_money(typed, currency)
    assert str(refused.value) == message


def test_the_form_field_cleans_to_cents_or_none_and_explains_errors():
    field = MoneyField(currency="gbp", required=False)

    assert field.clean("£12.50") == 1250 and field.clean("") is None
    with pytest.raises(forms.ValidationError, match="at most two decimals"):
        field.clean("1.234")
    with pytest.raises(forms.ValidationError, match="such as 19.99"):
        field.clean("9" * 40)
