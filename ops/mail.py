"""Shop mail: every message is a text part and an HTML alternative rendered from a pair of templates
(``<name>.txt`` and ``<name>.html``), with links built from ``settings.SITE_URL`` -- the shop's public address,
never the Host header of whatever request happened to cause the mail (mail is sent by Celery workers, which have
no request, and a Host header can be forged)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def site_url(path: str) -> str:
    """An absolute link to ``path`` (a path from ``reverse``) on the shop's public address."""
    return settings.SITE_URL + path


def duration_words(seconds: int) -> str:
    """3600 -> "1 hour", 259200 -> "3 days" (rounded down: a link never works for less than the mail says)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def mail_build(*, template: str, subject: str, to: list[str], context: dict,
               connection=None) -> EmailMultiAlternatives:
    """Render ``template``.txt and ``template``.html with ``context`` (plus ``site_url`` and ``subject``) into one
    multipart message, to be sent over ``connection`` (the configured backend's when None)."""
    context = {"site_url": settings.SITE_URL, "subject": subject, **context}
    message = EmailMultiAlternatives(subject=subject, body=render_to_string(f"{template}.txt", context),
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=to, connection=connection)
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def mail_send(*, template: str, subject: str, to: list[str], context: dict) -> None:
    """``mail_build``'s message, sent. Raises what the mail backend raises (the tasks retry on ``OSError``)."""
    mail_build(template=template, subject=subject, to=to, context=context).send()
