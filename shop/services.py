"""Accounts: sign-up, password reset requests and e-mail changes. The mails themselves are sent by Celery tasks
(``shop.tasks``, rendering through ``shop.notifications``), queued once the transaction commits."""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from shop.models import User
from shop.tasks import send_email_change_confirmation, send_email_changed_notice, send_password_reset
from wallet.services import wallet_open

EMAIL_CHANGE_SALT = "shop.email_change"


class EmailAlreadyRegistered(Exception):
    pass


class EmailChangeLinkInvalid(Exception):
    """The link is broken, was made for another address or password than the account has now, or was used."""


class EmailChangeLinkExpired(Exception):
    pass


def user_sign_up(*, email: str, password: str) -> User:
    """Create a shopper and their empty wallet together: a shopper never exists without a wallet.

    Two sign-ups racing for one email both pass the form's check; the database's unique index decides, and the
    loser gets ``EmailAlreadyRegistered`` instead of an error page."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
            wallet_open(user=user)
    except IntegrityError as error:
        raise EmailAlreadyRegistered(email) from error
    return user


def password_reset_request(*, email: str) -> None:
    """Queue the reset mail for ``email`` once the transaction commits, whether or not an account has it: the
    worker looks the address up (``shop.notifications.password_reset_send``), so the request does the same work,
    gives the same answer and takes the same time for a known address and an unknown one."""
    email = email.strip().lower()
    transaction.on_commit(lambda: send_password_reset.delay(email))


def email_change_request(*, user: User, new_email: str) -> None:
    """Queue the confirmation to ``new_email``; nothing changes until its link is opened. The form checked the
    password and that the address is free; the confirmation checks that again."""
    user_id, new_email = user.pk, new_email.strip().lower()
    transaction.on_commit(lambda: send_email_change_confirmation.delay(user_id, new_email))


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does: a link made before a password change no longer works after it (the
    owner who changed a stolen password also cancels the thief's pending e-mail change)."""
    return salted_hmac(EMAIL_CHANGE_SALT, user.password).hexdigest()[:20]


def email_change_token(*, user: User, new_email: str) -> str:
    """A signed, timestamped link token naming the account, its address now, the new address and its password."""
    return signing.dumps({"user": user.pk, "from": user.email, "to": new_email,
                          "password": _password_fingerprint(user)}, salt=EMAIL_CHANGE_SALT, compress=True)


@dataclass(frozen=True)
class EmailChange:
    user: User
    old_email: str
    new_email: str


def email_change_read(*, token: str) -> EmailChange:
    """What ``token`` would change, if it still may: raises ``EmailChangeLinkExpired`` or ``-Invalid``."""
    try:
        claim = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=settings.EMAIL_CHANGE_LINK_TTL)
    except signing.SignatureExpired:
        raise EmailChangeLinkExpired from None
    except signing.BadSignature:
        raise EmailChangeLinkInvalid from None
    if not isinstance(claim, dict) or not {"user", "from", "to", "password"} <= set(claim):
        raise EmailChangeLinkInvalid
    user = User.objects.filter(pk=claim["user"], is_active=True).first()
    if (user is None or user.email != claim["from"]
            or not constant_time_compare(_password_fingerprint(user), str(claim["password"]))):
        raise EmailChangeLinkInvalid  # used already, another change came first, or the password changed since
    return EmailChange(user=user, old_email=user.email, new_email=str(claim["to"]))


def email_change_confirm(*, token: str) -> EmailChange:
    """Apply the change a confirmation link names, once: the account is locked and the link checked again under
    the lock, so two clicks change it once (the second finds the address already changed: ``-Invalid``). The old
    address is told afterwards. Raises ``EmailAlreadyRegistered`` when another account took the address meanwhile
    (the database's unique index on lower(email) decides a race)."""
    with transaction.atomic():
        change = email_change_read(token=token)
        user = User.objects.select_for_update().get(pk=change.user.pk)
        change = email_change_read(token=token)  # again, now that nobody else can change the row
        try:
            with transaction.atomic():
                User.objects.filter(pk=user.pk).update(email=change.new_email)
        except IntegrityError as error:
            raise EmailAlreadyRegistered(change.new_email) from error
        user_id, old_email, new_email = user.pk, change.old_email, change.new_email
        transaction.on_commit(lambda: send_email_changed_notice.delay(user_id, old_email, new_email))
    user.email = change.new_email
    return EmailChange(user=user, old_email=change.old_email, new_email=change.new_email)
