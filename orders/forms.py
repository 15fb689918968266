from django import forms

from orders.models import PaymentMethod


class CartAddForm(forms.Form):
    product_id = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


class BuyNowForm(forms.Form):
    """"Buy now" on a product page: one copy of the product, paid with points or by card, the cart left alone."""

    product_id = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    checkout_token = forms.UUIDField()


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ").capitalize() if field != "__all__" else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "Please check your input."
