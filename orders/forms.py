from django import forms

from orders.services.cart import MAX_QUANTITY_PER_LINE


class CartAddForm(forms.Form):
    product_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY_PER_LINE, initial=1, required=False)

    def clean_quantity(self):
        return self.cleaned_data["quantity"] or 1


class CartQuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY_PER_LINE,
                                  help_text="0 removes the item from the cart.")


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ").capitalize() if field != "__all__" else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "Please check your input."
