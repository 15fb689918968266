import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ops.state_machine import Transitions


class CheckoutSession(models.Model):
    """One attempt by a shopper to pay for something, with the amount frozen when it started. What is sold is the
    business of the app that registered ``kind`` (``checkout.kinds``); checkout only knows the money.

    Statuses only move as ``TRANSITIONS`` allows; every write goes through ``checkout.services``, which checks
    it there (row by row) or filters on the allowed source statuses (set-based cleanup)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        INVALIDATED = "invalidated", "Invalidated"

    # A session that was expired or invalidated can still complete: the shopper may have paid on Stripe's page
    # just before we gave up on it, and money that arrived is always honoured.
    TRANSITIONS = Transitions({
        Status.ACTIVE: {Status.COMPLETED, Status.EXPIRED, Status.INVALIDATED},
        Status.EXPIRED: {Status.COMPLETED},
        Status.INVALIDATED: {Status.COMPLETED},
        Status.COMPLETED: set(),
    })

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkout_sessions")
    kind = models.CharField(max_length=40, help_text="Which app's handler fulfils it (checkout.kinds).")
    # The snapshot: what the shopper agreed to pay, whatever happens to what was sold later.
    title = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True, help_text="Shown under the title on Stripe's page.")
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces",
                                    help_text="The session that took over when this one was renewed or recovered.")

    # What Stripe last told us (mirrored, never moved backwards; see services.fulfilment).
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_checkout_url = models.TextField(blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_status = models.CharField(max_length=16, blank=True, help_text="open, complete or expired")
    stripe_payment_status = models.CharField(max_length=24, blank=True, help_text="unpaid, paid...")
    awaiting_stripe = models.BooleanField(
        default=False, help_text="A Stripe session exists whose outcome we have not settled yet: reconciled.")
    reconciled_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=255, blank=True,
                                       help_text="Why the last payment attempt failed, as the shopper sees it.")
    stripe_refunded_cents = models.PositiveBigIntegerField(
        default=0, help_text="What Stripe last said was refunded of the payment (charge.refunded; never backwards).")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_checkoutsession", "Can refund a checkout session's payment")]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="checkout_status_expires_idx"),
            models.Index(fields=["user", "status"], name="checkout_user_status_idx"),
            # Partial: the purge looks for unfinished sessions by age; completed ones (kept for good, and the
            # oldest rows) would otherwise be scanned past by every batch.
            models.Index(fields=["updated_at"], condition=~Q(status="completed"), name="checkout_unfinished_age_idx"),
            models.Index(fields=["reconciled_at"], condition=Q(awaiting_stripe=True),
                         name="checkout_awaiting_stripe_idx"),
            models.Index(fields=["stripe_payment_intent_id"], condition=~Q(stripe_payment_intent_id=""),
                         name="checkout_payment_intent_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(status="active"),
                                    name="checkout_one_active_session_per_user"),
            models.CheckConstraint(condition=Q(status__in=["active", "completed", "expired", "invalidated"]),
                                   name="checkout_status_known"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="checkout_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False)
                | (~Q(status="completed") & Q(completed_at__isnull=True)),
                name="checkout_completed_at_iff_completed"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="checkout_expires_after_created"),
            models.CheckConstraint(condition=~Q(replaced_by=F("id")), name="checkout_not_replaced_by_itself"),
        ]

    def __str__(self):
        return f"{self.title} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.TRANSITIONS.is_final(self.status)


class StatusChange(models.Model):
    """A history row: one status change, with when and why."""

    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status or 'new'} -> {self.to_status}"


class CheckoutSessionStatusChange(StatusChange):
    """Every status change of a checkout session: its history for staff."""

    # The (session, created_at) index below serves every lookup by session; a second one would only slow inserts.
    session = models.ForeignKey(CheckoutSession, on_delete=models.CASCADE, related_name="status_changes",
                                db_index=False)
    note = models.CharField(max_length=300, blank=True)

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["session", "created_at"], name="checkout_history_session_idx")]


class Refund(models.Model):
    """A refund of (part of) a session's payment, made in two phases so that Stripe is never called while a row
    lock is held: recorded (``requested``) in the transaction that decided it, sent to Stripe after commit with
    ``idempotency_key`` (a retry cannot refund twice), and the answer recorded: ``pending`` or ``succeeded``
    when Stripe accepted it, ``failed`` when Stripe refused it for good. ``charge.refunded`` confirms it."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested (not yet accepted by Stripe)"
        PENDING = "pending", "Pending at Stripe"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # A refund Stripe reported succeeded can still fail later (the customer's bank returns it).
    TRANSITIONS = Transitions({
        Status.REQUESTED: {Status.PENDING, Status.SUCCEEDED, Status.FAILED},
        Status.PENDING: {Status.SUCCEEDED, Status.FAILED},
        Status.SUCCEEDED: {Status.FAILED},
        Status.FAILED: set(),
    })

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(CheckoutSession, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=255, unique=True,
                                       help_text="Sent to Stripe with the refund: the same refund asked twice is one.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(max_length=300)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", help_text="The staff member who asked for it (none: the shop).")
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How often it was sent to Stripe.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["updated_at"], condition=Q(status="requested"), name="refund_unsent_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=["requested", "pending", "succeeded", "failed"]),
                                   name="refund_status_known"),
        ]

    def __str__(self):
        return f"Refund of {self.amount_cents} {self.currency} ({self.status})"

    @property
    def counts(self) -> bool:
        """Money that left, or is leaving, the shop (everything but a failed refund)."""
        return self.status != self.Status.FAILED


class RefundStatusChange(StatusChange):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="status_changes")
    note = models.CharField(max_length=500, blank=True)

    class Meta(StatusChange.Meta):
        pass


class WebhookEvent(models.Model):
    """Every Stripe event delivered to us, once per event id, with what processing it led to."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    FINAL = frozenset({Status.PROCESSED, Status.IGNORED})

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    stripe_object_id = models.CharField(max_length=255, blank=True, help_text="data.object.id of the event")
    api_version = models.CharField(
        max_length=40, blank=True,
        help_text="The API version Stripe rendered the event's object at (the endpoint's, or the account's).")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_status_received_idx"),
            models.Index(fields=["type"], name="webhook_type_idx"),
            models.Index(fields=["stripe_object_id"], name="webhook_stripe_object_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["received", "processed", "ignored", "failed"]),
                                   name="webhook_status_known"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id} ({self.status})"
