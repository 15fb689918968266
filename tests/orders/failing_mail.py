import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class Backend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp down")


class SecondMessageFails(BaseEmailBackend):
    """A mail server that takes one message, then goes down (Django's test outbox keeps what it took)."""

    def send_messages(self, email_messages):
        from django.core import mail

        for message in email_messages:
            if getattr(self, "sent", 0) >= 1:
                raise ConnectionResetError("smtp went away")
            mail.outbox.append(message)
            self.sent = getattr(self, "sent", 0) + 1
        return len(email_messages)


class FirstMessageRefused(BaseEmailBackend):
    """A mail server that refuses the first message it is given (a bad address, say) and takes the rest."""

    def send_messages(self, email_messages):
        from django.core import mail

        for message in email_messages:
            if not getattr(self, "refused", False):
                self.refused = True
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"no such mailbox")})
            mail.outbox.append(message)
        return len(email_messages)
