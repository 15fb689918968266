"""One-time tokens for staff forms that move money or points (balance adjustments, refunds).

The token is signed into the form when it is shown (nothing is written by a GET) and names the staff member, what
the form does and to which row. Submitting records it in ``UsedFormToken`` inside the same transaction as the write
it allows, so the write and the token's use commit together or not at all: a refused write (not enough points,
Stripe refusing before anything was recorded) leaves the form usable, and a second submit of a used form -- Back
and resubmit, a double click, a replayed request -- is refused with when it was used. Two submits at once: the
second waits on the primary key until the first commits, then finds it used.

The browser's Back button fetches the form page again (the admin's pages are never cached), so a resubmit after
Back carries a fresh token. A form shown to a staff member who used the same form (same change, same row) in the
last ``RECENT`` minutes therefore says so and asks them to tick "Make another change": Back and submit again
does nothing until they do."""

import secrets
from datetime import datetime, timedelta

from django import forms
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from ops.models import UsedFormToken

SALT = "ops.single-use-form"
MAX_AGE = timedelta(days=1)
RECENT = timedelta(minutes=30)


class FormTokenRefused(Exception):
    """The form cannot be used: already used, too old, or not this staff member's or this form's."""


class FormAlreadyUsed(FormTokenRefused):
    def __init__(self, used_at: datetime):
        self.used_at = used_at
        super().__init__(f"This form was already submitted (at {used_at:%H:%M:%S} UTC on {used_at:%Y-%m-%d}): "
                         f"nothing was done a second time. Open the form again to make another change.")


def single_use_token(*, user, purpose: str, now: datetime | None = None) -> str:
    """A fresh token for a form shown to ``user`` that will do ``purpose`` (e.g. ``wallet-adjust:12``), noting
    when they last used such a form if that was within ``RECENT`` (the form then asks before a second change)."""
    now = now or timezone.now()
    data = {"n": secrets.token_hex(16), "p": purpose, "u": user.pk}
    last = (UsedFormToken.objects.filter(purpose=purpose, user=user, used_at__gte=now - RECENT)
            .order_by("-used_at").values_list("used_at", flat=True).first())
    if last is not None:
        data["r"] = last.isoformat()
    return signing.dumps(data, salt=SALT, compress=True)


def _recent_use(token: str) -> datetime | None:
    """When the form's staff member last made the same change, as its token says (None: not lately, or no token)."""
    try:
        recent = signing.loads(token or "", salt=SALT, max_age=MAX_AGE).get("r")
    except signing.BadSignature:
        return None
    return datetime.fromisoformat(recent) if recent else None


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
    """A hidden ``once`` field holding the form's token; pass ``once=single_use_token(...)`` when showing it. When
    the token says the same change was made lately, an "again" box must be ticked (see the module's docstring)."""

    once = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, once: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["once"] = once
        token = self.data.get(self.add_prefix("once"), "") if self.is_bound else once
        recent = _recent_use(token)
        if recent is not None:
            when = f"{recent:%H:%M:%S} UTC"
            self.fields["again"] = forms.BooleanField(
                label="Make another change",
                help_text=f"You made this change at {when} already. Went Back and submitted again? Then leave this "
                          f"unticked: nothing is done twice.",
                error_messages={"required": f"Nothing was done: this form was already submitted (at {when}). Tick "
                                            f"\"Make another change\" only to make a second, separate change."})
