from django.conf import settings
from django.db import models


class Wallet(models.Model):
    """A shopper's points. ``balance``, ``lifetime`` and ``spent`` cache sums over the ledger; services keep them
    in step inside the same transaction that appends the entry."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(default=0)
    lifetime = models.BigIntegerField(default=0, help_text="All points ever credited by purchases and grants.")
    spent = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_not_negative"),
            models.CheckConstraint(condition=models.Q(lifetime__gte=0), name="wallet_lifetime_not_negative"),
            models.CheckConstraint(condition=models.Q(spent__gte=0), name="wallet_spent_not_negative"),
        ]

    def __str__(self):
        return f"Wallet of {self.user}"
