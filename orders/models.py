import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from ops.state_machine import Transitions


class CartItem(models.Model):
    """One product in a shopper's cart: one copy of a digital good (nobody needs the same file twice), so a row
    has no quantity and the database keeps one row per shopper and product. Totals come from current prices."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items")
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="cart_one_row_per_product"),
        ]

    def __str__(self):
        return f"{self.product} for {self.user.email}"


# The kind of checkout session a card order is paid with (``orders.checkout_kind`` handles it).
CART = "cart"


class PaymentMethod(models.TextChoices):
    POINTS = "points", "Points"
    STRIPE = "stripe", "Card"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# "Your orders" lists what was bought (paid, refunded -- disputed ones are among them -- and still being paid);
# the attempts that ended unpaid are listed apart, behind a link. Each list reads a partial index of its own.
KEPT_STATUSES = [OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.REFUNDED]
ABANDONED_STATUSES = [OrderStatus.CANCELLED, OrderStatus.FAILED]


class DisputeStatus(models.TextChoices):
    """Whether the cardholder disputes a card order's payment (``orders.services.disputes``), apart from the
    order's status: the order stays what it was (completed, refunded...) while Stripe decides, and its downloads
    are suspended until the dispute is won."""

    NONE = "", "Not disputed"
    OPEN = "open", "Disputed"
    WON = "won", "Dispute won"
    LOST = "lost", "Dispute lost"


class Order(models.Model):
    # A card payment Stripe accepted just before we gave up on its checkout is honoured (completed), or refunded
    # when its copies were sold meanwhile: money that arrived is never ignored. A card refund that fails or is
    # canceled at Stripe (even after it succeeded: the bank returned it) gives the order back the status it had.
    TRANSITIONS = Transitions({
        OrderStatus.PENDING: {OrderStatus.COMPLETED, OrderStatus.FAILED, OrderStatus.CANCELLED},
        OrderStatus.COMPLETED: {OrderStatus.REFUNDED},
        OrderStatus.FAILED: {OrderStatus.COMPLETED, OrderStatus.REFUNDED},
        OrderStatus.CANCELLED: {OrderStatus.COMPLETED, OrderStatus.REFUNDED},
        OrderStatus.REFUNDED: {OrderStatus.COMPLETED, OrderStatus.FAILED, OrderStatus.CANCELLED},
    })
    # A dispute won may be followed by another one of the same payment; a dispute lost is final.
    DISPUTE_TRANSITIONS = Transitions({
        DisputeStatus.NONE: {DisputeStatus.OPEN},
        DisputeStatus.OPEN: {DisputeStatus.WON, DisputeStatus.LOST},
        DisputeStatus.WON: {DisputeStatus.OPEN},
        DisputeStatus.LOST: set(),
    })

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    dispute_status = models.CharField(max_length=8, choices=DisputeStatus.choices, default=DisputeStatus.NONE,
                                      blank=True, help_text="Open or lost: the downloads are suspended.")
    total_cents = models.PositiveBigIntegerField()
    total_points = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    refunded_cents = models.PositiveBigIntegerField(default=0)
    refunded_points = models.PositiveBigIntegerField(default=0)
    idempotency_key = models.CharField(max_length=100, unique=True,
                                       help_text="The checkout form's token: a double submit finds this order.")
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_session = models.OneToOneField(
        "checkout.CheckoutSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="order",
        help_text="For card orders: the checkout session that pays it (its stock is reserved while it is active).")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes",
        help_text="For card orders: the order that delivered the same items (paid with points, or by another card "
                  "checkout) while this one's card checkout could still be paid. A card payment that still arrives "
                  "for this one is refunded.")
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The shopper's list reads in this order (keyset on created_at and id); staff's list and the
            # dashboard's time windows read the second.
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_newest_idx"),
            models.Index(fields=["user", "-created_at", "-id"], condition=models.Q(status__in=KEPT_STATUSES),
                         name="order_user_kept_newest_idx"),
            models.Index(fields=["user", "-created_at", "-id"], condition=models.Q(status__in=ABANDONED_STATUSES),
                         name="order_user_abandoned_idx"),
            models.Index(fields=["-created_at", "-id"], name="order_newest_idx"),
            models.Index(fields=["status", "created_at"], name="order_status_idx"),
            # Receipts not sent yet (orders.services.notifications): a handful of rows, however many orders.
            models.Index(fields=["fulfilled_at"], name="order_receipt_due_idx",
                         condition=models.Q(status="completed", confirmation_sent_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=OrderStatus.values), name="order_status_known"),
            models.CheckConstraint(condition=models.Q(payment_method__in=PaymentMethod.values),
                                   name="order_payment_method_known"),
            models.CheckConstraint(condition=models.Q(dispute_status__in=DisputeStatus.values),
                                   name="order_dispute_status_known"),
            models.CheckConstraint(condition=models.Q(refunded_cents__lte=models.F("total_cents")),
                                   name="order_refund_cents_within_total"),
            models.CheckConstraint(condition=models.Q(refunded_points__lte=models.F("total_points")),
                                   name="order_refund_points_within_total"),
            models.CheckConstraint(condition=~models.Q(superseded_by=models.F("id")),
                                   name="order_not_superseded_by_itself"),
        ]

    def __str__(self):
        return f"Order {self.short_id} for {self.user.email}"

    @property
    def short_id(self) -> str:
        return str(self.id)[:8].upper()

    @property
    def is_final(self) -> bool:
        """Nothing more happens to it without staff or Stripe (a pending order is still waiting for its payment)."""
        return self.status != OrderStatus.PENDING

    @property
    def downloads_suspended(self) -> bool:
        """The payment is disputed, or was taken back by a dispute: nothing more is handed out for it."""
        return self.dispute_status in (DisputeStatus.OPEN, DisputeStatus.LOST)

    @property
    def is_partially_refunded(self) -> bool:
        if self.status != OrderStatus.COMPLETED:
            return False
        return self.refunded_cents > 0 or self.refunded_points > 0


class OrderPayment(models.Model):
    """The payment an order received: points spent, or a card payment through Stripe. One per order, and the
    database insists (``order_paid_once``): a second payment for an order that has one cannot be recorded -- it is
    refunded instead (``orders.services.card``). One Stripe payment pays at most one order."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = models.PositiveBigIntegerField(help_text="Points for a points payment, cents for a card payment.")
    currency = models.CharField(max_length=3, blank=True, help_text="A card payment's currency; empty for points.")
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="order_paid_once"),
            models.UniqueConstraint(fields=["stripe_payment_intent_id"],
                                    condition=~models.Q(stripe_payment_intent_id=""),
                                    name="order_payment_intent_pays_once"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="order_payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(method=PaymentMethod.POINTS, currency="", stripe_payment_intent_id="")
                | (models.Q(method=PaymentMethod.STRIPE) & ~models.Q(currency="")),
                name="order_payment_method_shape"),
        ]

    def __str__(self):
        unit = "points" if self.method == PaymentMethod.POINTS else self.currency.upper()
        return f"{self.amount} {unit} for order {self.order_id}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("shop.Product", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    unit_price_cents = models.PositiveBigIntegerField()
    unit_price_points = models.PositiveBigIntegerField()
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_item_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.title}"

    @property
    def line_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    @property
    def line_points(self) -> int:
        return self.unit_price_points * self.quantity


class OrderStatusChange(models.Model):
    """Every status change with when and why: the order's history for staff."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=OrderStatus.choices)
    reason = models.CharField(max_length=300)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        # A row that changed nothing is a note (a partial refund, a dispute opened or closed): it says so.
        if self.from_status == self.to_status:
            return f"still {self.get_to_status_display().lower()}"
        return f"{self.get_from_status_display().lower() if self.from_status else 'new'} → " \
               f"{self.get_to_status_display().lower()}"


class LibraryEntry(models.Model):
    """A product the shopper owns -- bought in an order that is paid, not refunded and whose payment was not
    taken back by a lost dispute -- pointing at the order item that delivers it. One per shopper and product
    (the database insists), newest purchase first: the "Your downloads" page reads these rows through
    ``library_user_newest_idx`` and the cart and payments refuse what is here.

    Kept by ``orders.services.library.library_sync_order``, which every change of an order's status or dispute
    status calls (``order_transition`` and the dispute moves), inside the same transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library")
    product = models.ForeignKey("shop.Product", on_delete=models.PROTECT, related_name="+")
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="library_entries")
    created_at = models.DateTimeField(help_text="When the order that delivers it was placed.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "library entries"
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="library_user_newest_idx")]
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="library_one_row_per_product")]

    def __str__(self):
        return f"{self.product_id} owned by {self.user_id}"
