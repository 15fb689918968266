"""Account mail, rendered and sent by the Celery tasks in ``shop.tasks`` (never in a request). Links point at
``settings.SITE_URL``."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ops.mail import duration_words, mail_send, site_url
from shop.models import User
from shop.selectors import email_taken


def password_reset_send(*, email: str) -> int:
    """Mail a password-reset link to each active account with ``email`` (however it is typed) and a usable
    password; returns how many (none for an unknown address: nobody is told). Django's token: it works for
    PASSWORD_RESET_TIMEOUT, and once -- setting a password, or logging in, changes what it was made from."""
    accounts = [user for user in User.objects.alias(email_lower=Lower("email"))
                .filter(email_lower=email.strip().lower(), is_active=True) if user.has_usable_password()]
    for user in accounts:
        path = reverse("password_reset_confirm", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                         "token": default_token_generator.make_token(user)})
        mail_send(template="registration/email/password_reset", subject="Reset your Pixel Shop password",
                  to=[user.email], context={"user": user, "reset_url": site_url(path),
                                            "valid_for": duration_words(settings.PASSWORD_RESET_TIMEOUT)})
    return len(accounts)


def email_change_send_confirmation(*, user_id: int, new_email: str) -> bool:
    """Mail the confirmation link to the new address (not sent if another account has taken it meanwhile)."""
    from shop.services import email_change_token

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or email_taken(email=new_email, by_other_than=user):
        return False
    path = reverse("email_change_confirm", kwargs={"token": email_change_token(user=user, new_email=new_email)})
    mail_send(template="registration/email/email_change_confirm", subject="Confirm your new Pixel Shop email address",
              to=[new_email], context={"user": user, "new_email": new_email, "confirm_url": site_url(path),
                                       "valid_for": duration_words(settings.EMAIL_CHANGE_LINK_TTL)})
    return True


def email_change_send_notice(*, user_id: int, old_email: str, new_email: str) -> bool:
    """Tell the old address that the account's mail now goes elsewhere (so a change the owner did not make does
    not go unnoticed)."""
    if not User.objects.filter(pk=user_id).exists():
        return False
    mail_send(template="registration/email/email_changed", subject="Your Pixel Shop email address was changed",
              to=[old_email], context={"old_email": old_email, "new_email": new_email})
    return True
