from django import forms

from checkout.money import parse_money


class MoneyField(forms.Field):
    """An amount typed as money ("19.99", "$1,250") in ``currency``, cleaned to integer cents (or None, empty)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, currency: str = "usd", **kwargs):
        self.currency = currency
        super().__init__(**kwargs)

    def to_python(self, value):
        value = str(value).strip() if value is not None else ""
        if value in self.empty_values:
            return None
        if len(value) > 30:
            raise forms.ValidationError("Enter an amount of money such as 19.99.", code="invalid")
        try:
            return parse_money(value, self.currency)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
