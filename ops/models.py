from django.conf import settings
from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """Last time a scheduled task ran through beat and a worker: operators see in the admin that both are alive."""

    name = models.CharField(max_length=50, primary_key=True)
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "shop_heartbeat"  # made when the model lived in shop; kept rather than copied

    def __str__(self):
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """A Celery task the broker could not take when it was queued (Redis down or unreachable), kept until
    ``ops.tasks.outbox_relay`` (beat, every 30 seconds) hands it over. At least once: the tasks are idempotent."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True, help_text="The request that queued it (logs).")
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "shop_outboxmessage"  # made when the model lived in shop; kept rather than copied
        ordering = ["id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="outbox_due_idx")]

    def __str__(self):
        return f"{self.task} (queued {self.created_at:%Y-%m-%d %H:%M:%S}, {self.attempts} attempts)"


class UsedFormToken(models.Model):
    """A staff form's one-time token, recorded when the form's write is made, in the same transaction
    (``ops.single_use``): a form submitted again -- Back and resubmit, a double click, a replayed POST -- finds its
    token here and does nothing a second time. Tokens are signed, not stored, while the form is only shown."""

    nonce = models.CharField(max_length=64, primary_key=True)
    purpose = models.CharField(max_length=100, help_text="What the form does, and to which row.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.purpose} at {self.used_at:%Y-%m-%d %H:%M:%S}"
