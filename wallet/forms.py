from django import forms

from ops.single_use import SingleUseFormMixin
from wallet.models import PointsPackage
from wallet.services.ledger import MAX_POINTS


class AdjustBalanceForm(SingleUseFormMixin, forms.Form):
    points = forms.IntegerField(
        min_value=-MAX_POINTS, max_value=MAX_POINTS,
        help_text="Positive to add points, negative to take them away. The balance can never go below zero.")
    reason = forms.CharField(
        max_length=200, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. Kept in the ledger and shown to the shopper in their history.")

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment of 0 points changes nothing.")
        return points

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class PackageChoiceForm(forms.Form):
    package = forms.ModelChoiceField(queryset=PointsPackage.objects.active(), error_messages={
        "invalid_choice": "That package is no longer on sale. Please choose another one.",
        "required": "Please choose a package.",
    })
