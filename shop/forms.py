from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm

from shop.models import User
from shop.selectors import email_taken
from shop.services import password_reset_request


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password1 = forms.CharField(label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in instead?")
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            try:
                password_validation.validate_password(password1, User(email=cleaned.get("email", "")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class PasswordResetRequestForm(PasswordResetForm):
    """Django's form, saved by queueing the mail for a worker instead of looking the address up and sending in the
    request: the answer is the same, and takes the same time, whether or not the address has an account
    (``shop.services.password_reset_request``)."""

    email = forms.EmailField(label="Email", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))

    def save(self, **ignored):
        password_reset_request(email=self.cleaned_data["email"])


class EmailChangeForm(forms.Form):
    """A new address for ``user``, confirmed by their current password: someone at an unlocked screen cannot take
    the account over by pointing its mail (and so its password resets) elsewhere."""

    new_email = forms.EmailField(label="New email address", max_length=254,
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label="Your current password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_email(self):
        email = self.cleaned_data["new_email"].strip().lower()
        if email == self.user.email.lower():
            raise forms.ValidationError("That is already your email address.")
        if email_taken(email=email, by_other_than=self.user):
            raise forms.ValidationError("Another account uses this email address.")
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("Your password was entered incorrectly. Please enter it again.")
        return password
