import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ops.state_machine import Transitions


# Sessions the cleanup may delete once idle for long enough: never completed, and no payment can still arrive for
# them -- not awaiting Stripe's outcome, and not completed on Stripe's side (a bank debit under way, or one that
# failed: kept as the record of a payment attempt). A session Stripe may still pay is kept until it is settled.
PURGEABLE = ~Q(status="completed") & Q(awaiting_stripe=False) & ~Q(stripe_status="complete")


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
    # "Check again": a check with Stripe queued for a worker (None when none is waiting), and why the last one
    # failed, shown to the shopper (checkout.services.checks).
    check_queued_at = models.DateTimeField(null=True, blank=True)
    # A default in the database too: set-based writers (the cleanup bench, bulk SQL) need not know the column.
    check_failure = models.CharField(max_length=255, blank=True, default="", db_default="")
    failure_message = models.CharField(max_length=255, blank=True,
                                       help_text="Why the last payment attempt failed, as the shopper sees it.")
    stripe_refunded_cents = models.PositiveBigIntegerField(
        default=0, help_text="What Stripe has accepted to refund of the payment: its pending and succeeded refunds.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_checkoutsession", "Can refund a checkout session's payment")]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="checkout_status_expires_idx"),
            models.Index(fields=["user", "status"], name="checkout_user_status_idx"),
            # Partial: the purge looks for abandoned sessions by age (``PURGEABLE``); completed ones (kept for
            # good, and the oldest rows) and those a payment may still arrive for would otherwise be scanned past by
            # every batch.
            models.Index(fields=["updated_at"], condition=PURGEABLE, name="checkout_purgeable_age_idx"),
            models.Index(fields=["reconciled_at"], condition=Q(awaiting_stripe=True),
                         name="checkout_awaiting_stripe_idx"),
            models.Index(fields=["stripe_payment_intent_id"], condition=~Q(stripe_payment_intent_id=""),
                         name="checkout_payment_intent_idx"),
            # Staff pages: the admin's list newest first, the dashboard's sessions of the day and its sales.
            models.Index(fields=["-created_at", "-id"], name="checkout_newest_idx"),
            models.Index(fields=["completed_at"], condition=Q(status="completed"), name="checkout_completed_idx"),
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
        # Staff know a purchase by who made it: the shopper's e-mail, never a row id.
        return f"{self.title} for {self.user.email} ({self.status})"

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
        # A row that changed nothing records an event (a dispute opened, a refund noted): it says so.
        if self.from_status == self.to_status:
            return f"still {self.to_status.replace('_', ' ')}"
        return f"{(self.from_status or 'new').replace('_', ' ')} \u2192 {self.to_status.replace('_', ' ')}"


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
    ``idempotency_key`` (a retry cannot refund twice), and Stripe's answer recorded. From then on it follows
    Stripe's refund: ``pending`` (Stripe accepted it; ``requires_action`` too), then ``succeeded``, ``failed`` or
    ``canceled``, from Stripe's answers and its ``refund.*`` / ``charge.refund.updated`` / ``charge.refunded``
    events (``checkout.services.refund_updates``), never backwards.

    A refund made in Stripe's Dashboard, which the shop never asked for, is recorded too (``origin`` stripe, no
    ``requested_by``), so that every refund of a payment has a row and what was sold follows them all."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested (not yet accepted by Stripe)"
        PENDING = "pending", "Pending at Stripe"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Origin(models.TextChoices):
        SHOP = "shop", "Asked by the shop"
        STRIPE = "stripe", "Made in Stripe (not by the shop)"

    # A refund Stripe reported succeeded can still fail later (the customer's bank returns it); only a refund
    # that has not succeeded yet can be canceled. Failed and canceled are final: a late "succeeded" cannot undo them.
    TRANSITIONS = Transitions({
        Status.REQUESTED: {Status.PENDING, Status.SUCCEEDED, Status.FAILED, Status.CANCELED},
        Status.PENDING: {Status.SUCCEEDED, Status.FAILED, Status.CANCELED},
        Status.SUCCEEDED: {Status.FAILED},
        Status.FAILED: set(),
        Status.CANCELED: set(),
    })
    # Money Stripe has accepted to give back: what orders, packages and the dashboard count as refunded.
    ACCEPTED = frozenset({Status.PENDING, Status.SUCCEEDED})
    # Nothing was (or stays) refunded: what the refund took back is given back.
    UNDONE = frozenset({Status.FAILED, Status.CANCELED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(CheckoutSession, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=255, unique=True,
                                       help_text="Sent to Stripe with the refund: the same refund asked twice is one.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.SHOP)
    reason = models.CharField(max_length=300)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", help_text="The staff member who asked for it (none: the shop, "
                                                                 "or someone in Stripe's Dashboard).")
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How often it was sent to Stripe.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["updated_at"], condition=Q(status="requested"), name="refund_unsent_idx"),
            # The dashboard's refunds the shop made on its own (a payment it could not deliver), by day.
            models.Index(fields=["created_at"], condition=Q(requested_by__isnull=True), name="refund_by_the_shop_idx"),
            models.Index(fields=["created_at"], name="refund_created_idx"),
            models.Index(fields=["updated_at"], condition=Q(status__in=["failed", "canceled"]),
                         name="refund_undone_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=["requested", "pending", "succeeded", "failed", "canceled"]),
                                   name="refund_status_known"),
            models.CheckConstraint(condition=Q(origin__in=["shop", "stripe"]), name="refund_origin_known"),
            # Stripe's Dashboard refunds are recorded from what Stripe says, never sent by the shop.
            models.CheckConstraint(condition=Q(origin="shop") | (Q(requested_by__isnull=True) & Q(attempts=0)),
                                   name="refund_from_stripe_not_sent"),
        ]

    def __str__(self):
        return f"Refund of {self.amount_cents} {self.currency} ({self.status})"

    @property
    def counts(self) -> bool:
        """Money that left, or is leaving, the shop (everything but a failed or canceled refund)."""
        return self.status not in self.UNDONE

    @property
    def made_in_stripe(self) -> bool:
        return self.origin == self.Origin.STRIPE


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
        # Applied as far as the shop can, but staff must look: a payment for a checkout session the shop no longer
        # has (``error`` says what was done about it).
        ATTENTION = "attention", "Needs attention"

    FINAL = frozenset({Status.PROCESSED, Status.IGNORED, Status.ATTENTION})

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
            models.Index(fields=["-received_at", "-id"], name="webhook_newest_idx"),  # the admin's list
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["received", "processed", "ignored", "failed", "attention"]),
                name="webhook_status_known"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id} ({self.status})"


class StripeBooksCheck(models.Model):
    """One comparison of the shop's books with Stripe's for a window (``stripe_reconcile``, daily on beat):
    what was compared, and every difference found -- paid there and not credited here, refunded there and not
    here, credited here without a paid session there. The newest one is on the staff dashboard."""

    ran_at = models.DateTimeField(default=timezone.now)
    since = models.DateTimeField()
    until = models.DateTimeField()
    compared = models.JSONField(default=dict, help_text="How many of each Stripe object were compared.")
    differences = models.JSONField(default=list, help_text="Each difference: code, summary, ids, amount.")
    difference_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the check could not finish (Stripe unreachable...).")

    class Meta:
        ordering = ["-ran_at"]
        indexes = [models.Index(fields=["-ran_at"], name="books_check_recent_idx")]
        constraints = [models.CheckConstraint(condition=Q(until__gt=F("since")), name="books_check_window")]
        verbose_name = "books check against Stripe"
        verbose_name_plural = "books checks against Stripe"

    def __str__(self):
        return f"Books check {self.since:%Y-%m-%d %H:%M} - {self.until:%Y-%m-%d %H:%M}: {self.difference_count}"
def _forward_only(open_statuses, final_statuses) -> dict:
    """Each open status may move to any later open status or to any final one; the final ones are final."""
    moves = {status: {*open_statuses[rank + 1:], *final_statuses} for rank, status in enumerate(open_statuses)}
    return {**moves, **{status: set() for status in final_statuses}}


class Dispute(models.Model):
    """A cardholder's dispute (a chargeback, or an inquiry that may become one) of a session's payment, mirrored
    from Stripe's ``charge.dispute.*`` events by ``checkout.services.disputes``. Stripe decides it; the shop only
    follows: ``status`` moves as ``TRANSITIONS`` allows (forward, never out of a closed status, whatever order the
    events arrive in), and ``outcome`` is set once, when a closed status is first seen.

    Only disputes of our own payments are stored: one about a payment the shop did not take leaves no row."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs a response"
        WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
        NEEDS_RESPONSE = "needs_response", "Needs a response"
        UNDER_REVIEW = "under_review", "Under review"
        APPEAL_NEEDS_RESPONSE = "appeal_needs_response", "Appeal: needs a response"
        APPEAL_UNDER_REVIEW = "appeal_under_review", "Appeal: under review"
        WARNING_CLOSED = "warning_closed", "Inquiry closed (not escalated)"
        PREVENTED = "prevented", "Prevented"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class Outcome(models.TextChoices):
        WON = "won", "Won: the payment stands"
        LOST = "lost", "Lost: the money went back to the cardholder"

    # Stripe's own order of a dispute's life; a status Stripe reports is taken only if it comes later than the
    # one we have (events arrive in any order). The closed ones are final.
    OPEN_STATUSES = (Status.WARNING_NEEDS_RESPONSE, Status.WARNING_UNDER_REVIEW, Status.NEEDS_RESPONSE,
                     Status.UNDER_REVIEW, Status.APPEAL_NEEDS_RESPONSE, Status.APPEAL_UNDER_REVIEW)
    # An inquiry that closed without escalating, or a dispute prevented before it became one, took no money.
    OUTCOMES = {Status.WON: Outcome.WON, Status.WARNING_CLOSED: Outcome.WON, Status.PREVENTED: Outcome.WON,
                Status.LOST: Outcome.LOST}
    TRANSITIONS = Transitions(_forward_only(OPEN_STATUSES, OUTCOMES))

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    session = models.ForeignKey(CheckoutSession, on_delete=models.PROTECT, related_name="disputes",
                                help_text="The checkout session whose payment is disputed.")
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    amount_cents = models.PositiveBigIntegerField(help_text="Disputed amount, as Stripe last reported it.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True, help_text="Stripe's reason: fraudulent, general...")
    status = models.CharField(max_length=32, choices=Status.choices)
    evidence_due_by = models.DateTimeField(null=True, blank=True,
                                           help_text="Stripe's evidence_details.due_by: respond in Stripe before.")
    opened_at = models.DateTimeField(help_text="When Stripe opened the dispute.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When the shop learnt that it closed.")
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    seller_note = models.CharField(max_length=500, blank=True,
                                   help_text="What the shop did about what was sold (downloads, held points).")
    staff_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            # The dashboard's open disputes, most urgent first, and its lost money of the day.
            models.Index(fields=["evidence_due_by"], condition=Q(outcome=""), name="dispute_open_due_idx"),
            models.Index(fields=["outcome", "closed_at"], condition=~Q(outcome=""), name="dispute_closed_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[
                "warning_needs_response", "warning_under_review", "needs_response", "under_review",
                "appeal_needs_response", "appeal_under_review", "warning_closed", "prevented", "won", "lost"]),
                name="dispute_status_known"),
            models.CheckConstraint(condition=Q(outcome__in=["", "won", "lost"]), name="dispute_outcome_known"),
            models.CheckConstraint(
                condition=(Q(outcome="", closed_at__isnull=True)
                           | (~Q(outcome="") & Q(closed_at__isnull=False))),
                name="dispute_closed_at_iff_outcome"),
        ]

    def __str__(self):
        return f"Dispute {self.stripe_dispute_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return not self.outcome


class DisputeStatusChange(StatusChange):
    """Every status a dispute was seen in, with what the shop did about it."""

    # Stripe's dispute statuses are longer than the sessions' and refunds'.
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="status_changes")
    note = models.CharField(max_length=500, blank=True)

    class Meta(StatusChange.Meta):
        pass
