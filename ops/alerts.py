"""Telling staff that something needs a person (a refund Stripe could not carry out, points a refund could not take
back): logged at ERROR at once, and emailed to the active staff members who have an address, after the
transaction that found it commits (so a rolled-back discovery sends nothing). The email is a Celery task, so a
broker outage keeps it in the outbox (``ops.outbox``) instead of losing it; what the alert is about stays visible
on the staff dashboard whether or not the email arrives."""

import logging
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[shop staff] "
SUBJECT_LIMIT = 200


def staff_alert(*, subject: str, message: str) -> None:
    logger.error("staff_alert %s: %s", subject, message)
    transaction.on_commit(partial(_queue_email, subject[:SUBJECT_LIMIT], message), robust=True)


def _queue_email(subject: str, message: str) -> None:
    from ops.tasks import email_staff

    email_staff.delay(subject, message)


def staff_recipients() -> list[str]:
    """Who is told: every active staff member with an email address (they can act in the admin); ``ADMINS`` when
    there is none, so an alert is not sent to nobody."""
    staff = sorted(set(get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
                       .values_list("email", flat=True)))
    return staff or [email for _name, email in getattr(settings, "ADMINS", [])]


def staff_email_send(*, subject: str, message: str) -> int:
    """Email ``message`` to every active staff member with an address. Returns how many were addressed."""
    recipients = staff_recipients()
    if not recipients:
        logger.warning("staff_alert_unsent subject=%s: no staff member has an email address, ADMINS is empty",
                       subject)
        return 0
    send_mail(subject=SUBJECT_PREFIX + subject, message=message, from_email=settings.DEFAULT_FROM_EMAIL,
              recipient_list=recipients)
    return len(recipients)
