from django.db import models


class FakeStripeObject(models.Model):
    """State of the demo/test Stripe: sessions, payment intents, charges, refunds, events and idempotency
    records. In the database so that web, worker and beat processes all see the same "Stripe"."""

    id = models.CharField(max_length=300, primary_key=True)
    kind = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fake Stripe object"
        # Not checkout's old index name: index names are per schema, and both tables exist while the rows move.
        indexes = [models.Index(fields=["kind", "created_at"], name="stripe_fake_kind_created_idx")]

    def __str__(self):
        return self.id
