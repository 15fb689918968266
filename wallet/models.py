from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from checkout.money import Currency, format_points


class Wallet(models.Model):
    """A shopper's points. ``balance``, ``lifetime`` and ``spent`` cache sums over the ledger; services keep them
    in step inside the same transaction that appends the entry (see ``LedgerEntry`` for which kinds count where).
    ``manage.py audit_wallets`` proves they agree."""

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
        permissions = [("adjust_balance", "Can adjust a wallet's balance")]

    def __str__(self):
        return f"Wallet of {self.user}"


class LedgerIsAppendOnly(Exception):
    """Raised by any attempt to change or remove a ledger entry through the ORM. Corrections are new entries."""


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be updated; post a correcting entry instead.")

    def delete(self):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; post a correcting entry instead.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise LedgerIsAppendOnly("Ledger entries cannot be updated; post a correcting entry instead.")

    def _raw_delete(self, using):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; post a correcting entry instead.")

    _raw_delete.queryset_only = True


class LedgerEntry(models.Model):
    """One movement of points, never changed or removed (PostgreSQL refuses UPDATE and DELETE with a trigger,
    see migration 0002; the ORM refuses them here).

    ``amount`` is signed: purchases and refunds add, spends and reversals take away, staff adjustments go either
    way. The wallet's cached sums are::

        balance  = sum(amount)
        lifetime = sum(amount) of purchase, reversal, adjustment   (points acquired, net of reversed purchases)
        spent    = -sum(amount) of spend, refund                   (points spent on goods, net of refunds)

    so ``balance == lifetime - spent`` always. ``metadata`` carries what the page shows as the cause until the
    checkout and orders apps add their own foreign keys: ``package_name``, ``order_id``, ``product_title``...
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Points purchase"
        SPEND = "spend", "Spent"
        REFUND = "refund", "Refund"
        REVERSAL = "reversal", "Purchase reversed"
        ADJUSTMENT = "adjustment", "Adjustment"

    CREDIT_KINDS = frozenset({Kind.PURCHASE, Kind.REFUND, Kind.ADJUSTMENT})
    LIFETIME_KINDS = frozenset({Kind.PURCHASE, Kind.REVERSAL, Kind.ADJUSTMENT})
    SPENT_KINDS = frozenset({Kind.SPEND, Kind.REFUND})

    # The (wallet, -created_at, -id) index below serves every lookup by wallet; a second one would only slow inserts.
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = models.BigIntegerField(help_text="Signed points: positive adds to the balance, negative takes away.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    balance_after = models.BigIntegerField()
    description = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=255)
    stripe_object_id = models.CharField(max_length=255, blank=True)
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals",
                                 help_text="The purchase this reversal takes back.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", help_text="The staff member behind an adjustment.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "ledger entries"
        # Meta-level unique constraint and index rather than unique=True / db_index=True: on PostgreSQL those would
        # add a second, LIKE-pattern index per column that no query uses and every insert pays for.
        indexes = [
            models.Index(fields=["wallet", "-created_at", "-id"], name="ledger_wallet_newest_idx"),
            # The staff pages: the admin's list (newest first) and the dashboard's time windows.
            models.Index(fields=["-created_at", "-id"], name="ledger_newest_idx"),
            models.Index(fields=["stripe_object_id"], condition=~Q(stripe_object_id=""),
                         name="ledger_stripe_object_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(kind__in=["purchase", "spend", "refund", "reversal", "adjustment"]),
                                   name="ledger_kind_known"),
            models.CheckConstraint(
                condition=(Q(kind__in=["purchase", "refund"], amount__gt=0)
                           | Q(kind__in=["spend", "reversal"], amount__lt=0)
                           | (Q(kind="adjustment") & ~Q(amount=0))),
                name="ledger_amount_sign_matches_kind"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="ledger_idempotency_key_present"),
            models.CheckConstraint(condition=Q(reverses__isnull=True) | Q(kind="reversal"),
                                   name="ledger_only_reversals_reverse"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount:+d} ({self.idempotency_key})"

    def save(self, *args, **kwargs):
        # Not business logic: the one guard that keeps a stored entry from being rewritten through the ORM.
        if not self._state.adding:
            raise LedgerIsAppendOnly("Ledger entries cannot be updated; post a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("Ledger entries cannot be deleted; post a correcting entry instead.")

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


class PointsPackageQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class PointsPackage(models.Model):
    """Points for sale: bought through checkout (``wallet.checkout_kind``), credited when the payment arrives."""

    name = models.CharField(max_length=100, unique=True)
    points = models.PositiveBigIntegerField()
    price_cents = models.PositiveBigIntegerField(help_text="Price in minor units (cents).")
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    is_active = models.BooleanField("active", default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PointsPackageQuerySet.as_manager()

    class Meta:
        db_table = "shop_pointspackage"  # created by the storefront app before points packages moved here
        ordering = ["sort_order", "price_cents"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="package_points_positive"),
            models.CheckConstraint(condition=models.Q(price_cents__gt=0), name="package_price_cents_positive"),
            models.CheckConstraint(condition=models.Q(currency__in=Currency.values), name="package_currency_known"),
        ]

    def __str__(self):
        return f"{self.name} ({format_points(self.points)})"


# The kind of checkout session a points package is bought with (``wallet.checkout_kind`` handles it).
POINTS_PACKAGE = "points_package"


def purchase_credit_key(stripe_session_id: str) -> str:
    """The ledger key of the credit a paid points package makes: one credit per Stripe session, ever."""
    return f"stripe:checkout:{stripe_session_id}"


# The metadata key of an adjustment that gives back points reversed from a purchase (its refund failed), naming the
# purchase's entry: ``wallet_reverse`` and the audit count such points as not taken back.
RESTORES_PURCHASE = "restores_purchase"


class PointsPurchase(models.Model):
    """A points package bought through a checkout session: what was offered (a snapshot: the package may change
    later). Created with its session by ``wallet.services.purchases``; once paid, the ledger entry that credited it
    is the one keyed ``purchase_credit_key(<Stripe session>)`` (the ledger's unique key is the link)."""

    checkout_session = models.OneToOneField("checkout.CheckoutSession", on_delete=models.CASCADE,
                                            primary_key=True, related_name="points_purchase")
    package = models.ForeignKey(PointsPackage, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="purchases")
    points = models.PositiveBigIntegerField()
    # The last dispute of the payment (``wallet.services.disputes``): what its hold took back, and what it could
    # not because the shopper had spent it (the balance never goes below zero). The ledger has each movement.
    dispute_held_points = models.PositiveBigIntegerField(
        default=0, db_default=0,
        help_text="Points held back while the payment was disputed (given back if the dispute is won).")
    dispute_shortfall_points = models.PositiveBigIntegerField(
        default=0, db_default=0,
        help_text="Points of the package already spent when the dispute opened, so not held back.")
    # Claimed before the receipt is sent (``wallet.services.receipts``): a task delivered twice sends one mail.
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="points_purchase_points_positive"),
            models.CheckConstraint(
                condition=models.Q(dispute_held_points__lte=models.F("points"))
                & models.Q(dispute_shortfall_points__lte=models.F("points")),
                name="points_purchase_dispute_within_points"),
        ]

    def __str__(self):
        return f"{format_points(self.points)} ({self.checkout_session_id})"


class RefundShortfall(models.Model):
    """Points a refund should have taken back from a points package purchase but could not, because the shopper had
    spent them already (a balance never goes below zero): a refund made in Stripe's Dashboard takes back what the
    balance allows and records the rest here, for staff (admin, dashboard). ``settled_at``: the refund failed or was
    canceled, so nothing is owed any more."""

    refund = models.OneToOneField("checkout.Refund", on_delete=models.PROTECT, primary_key=True,
                                  related_name="points_shortfall")
    purchase = models.ForeignKey(PointsPurchase, on_delete=models.PROTECT, related_name="refund_shortfalls")
    points = models.PositiveBigIntegerField(help_text="Points the refund should have taken back and could not.")
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_because = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], condition=Q(settled_at__isnull=True),
                                name="shortfall_open_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="shortfall_points_positive"),
        ]

    def __str__(self):
        return f"{format_points(self.points)} not taken back ({self.refund_id})"

    @property
    def is_open(self) -> bool:
        return self.settled_at is None
