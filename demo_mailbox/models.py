from django.db import models
from django.utils import timezone


class DemoMail(models.Model):
    """One sent message as the mailbox shows it: who it was for, its subject, its text and HTML parts."""

    subject = models.TextField()
    from_email = models.CharField(max_length=320)
    to = models.TextField(help_text="Every recipient (to, cc, bcc), comma-separated.")
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["-sent_at", "-id"], name="demo_mail_newest_idx")]

    def __str__(self):
        return f"{self.subject} -> {self.to}"
