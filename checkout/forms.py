from django import forms

from shop.models import PointsPackage


class StartCheckoutForm(forms.Form):
    package = forms.ModelChoiceField(queryset=PointsPackage.objects.active(), error_messages={
        "invalid_choice": "That package is no longer on sale. Please choose another one.",
        "required": "Please choose a package.",
    })
