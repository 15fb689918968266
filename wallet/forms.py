import uuid

from django import forms

from wallet.models import PointsPackage
from wallet.services.ledger import MAX_POINTS


class AdjustBalanceForm(forms.Form):
    points = forms.IntegerField(
        min_value=-MAX_POINTS, max_value=MAX_POINTS,
        help_text="Positive to add points, negative to take them away. The balance can never go below zero.")
    reason = forms.CharField(
        max_length=200, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. Kept in the ledger and shown to the shopper in their history.")
    # Generated when the form is shown, so a double submit (or a resubmitted page) adjusts once.
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("request_id", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

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
