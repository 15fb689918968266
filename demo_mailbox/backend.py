"""The demo mode's mail backend: keeps every message in ``DemoMail`` (shown at /demo-mailbox/), then hands it to
``settings.DEMO_MAILBOX_NEXT_BACKEND`` -- the console (the worker's output) unless SMTP is configured."""

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from demo_mailbox.models import DemoMail


def _parts(message) -> tuple[str, str]:
    """(text, HTML) of a message: its body and its text/html alternative, or an HTML-only message's body."""
    if getattr(message, "content_subtype", "plain") == "html":
        return "", str(message.body or "")
    html = ""
    for content, mimetype in getattr(message, "alternatives", None) or ():
        if mimetype == "text/html":
            html = content.decode() if isinstance(content, bytes) else str(content)
            break
    return str(message.body or ""), html


class DemoMailboxBackend(BaseEmailBackend):
    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.next = get_connection(settings.DEMO_MAILBOX_NEXT_BACKEND, fail_silently=fail_silently, **kwargs)

    def send_messages(self, email_messages):
        messages = list(email_messages or ())
        if not messages:
            return 0
        DemoMail.objects.bulk_create([
            DemoMail(subject=str(message.subject), from_email=str(message.from_email),
                     to=", ".join(str(address) for address in message.recipients()),
                     text=text, html=html)
            for message in messages for text, html in [_parts(message)]])
        self.next.send_messages(messages)
        return len(messages)
