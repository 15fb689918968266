"""One-time tokens for staff forms that move money or points (balance adjustments, refunds).

The token is signed into the form when it is shown (nothing is written by a GET) and names the staff member, what
the form does and to which row. Submitting records it in ``UsedFormToken`` inside the same transaction as the write
it allows, so the write and the token's use commit together or not at all: a refused write (not enough points,
Stripe refusing before anything was recorded) leaves the form usable, and a second submit of a used form -- Back
and resubmit, a double click, a replayed request -- is refused with when it was used. Two submits at once: the
second waits on the primary key until the first commits, then finds it used."""

import secrets
from datetime import datetime, timedelta
from functools import wraps

from django import forms
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.cache import patch_cache_control

from ops.models import UsedFormToken

SALT = "ops.single-use-form"
MAX_AGE = timedelta(days=1)


class FormTokenRefused(Exception):
    """The form cannot be used: already used, too old, or not this staff member's or this form's."""


class FormAlreadyUsed(FormTokenRefused):
    def __init__(self, used_at: datetime):
        self.used_at = used_at
        super().__init__(f"This form was already submitted (at {used_at:%H:%M:%S} UTC on {used_at:%Y-%m-%d}): "
                         f"nothing was done a second time. Open the form again to make another change.")


def single_use_token(*, user, purpose: str) -> str:
    """A fresh token for a form shown to ``user`` that will do ``purpose`` (e.g. ``wallet-adjust:12``)."""
    return signing.dumps({"n": secrets.token_hex(16), "p": purpose, "u": user.pk}, salt=SALT, compress=True)


def single_use_token_spend(*, token: str, user, purpose: str, now: datetime | None = None) -> str:
    """Use ``token`` up, inside the caller's transaction (the write it guards). Returns its nonce (a key unique to
    this form, usable as an idempotency key). Raises ``FormAlreadyUsed`` or ``FormTokenRefused``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("single_use_token_spend belongs inside the transaction of the write it allows.")
    try:
        data = signing.loads(token or "", salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise FormTokenRefused("This form is more than a day old: open the form again.") from None
    except signing.BadSignature:
        raise FormTokenRefused("This form's one-time token is missing or damaged: open the form again.") from None
    if data.get("p") != purpose or data.get("u") != user.pk:
        raise FormTokenRefused("This form was made for another change or another staff member: open the form again.")
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a refusal
            UsedFormToken.objects.create(nonce=data["n"], purpose=purpose, user=user, used_at=now or timezone.now())
    except IntegrityError:
        used = UsedFormToken.objects.filter(nonce=data["n"]).values_list("used_at", flat=True).first()
        raise FormAlreadyUsed(used or timezone.now()) from None
    return data["n"]


class SingleUseFormMixin(forms.Form):
    """A hidden ``once`` field holding the form's token; pass ``once=single_use_token(...)`` when showing it."""

    once = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, once: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["once"] = once


def kept_for_back(view):
    """For a single-use form's page, registered with ``admin_view(..., cacheable=True)``: ``private, no-cache``
    instead of the admin's ``no-store``. A normal visit still fetches a fresh form (and token), while the
    browser's Back shows the page as it was, with the token already used, instead of fetching a fresh form whose
    new token a resubmit would spend on a second change."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        patch_cache_control(response, private=True, no_cache=True, max_age=0)
        return response

    return wrapper
