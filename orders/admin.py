from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from checkout.money import format_points
from ops.admin_search import FastChangeList, uuid_prefix_range
from orders.errors import RefundRefused
from checkout.forms import MoneyField
from ops.single_use import FormTokenRefused, SingleUseFormMixin, single_use_token, single_use_token_spend
from orders.models import (
    CartItem,
    DisputeStatus,
    Order,
    OrderItem,
    OrderPayment,
    OrderStatus,
    OrderStatusChange,
    PaymentMethod,
)
from orders.services.refunds import order_refund_points, order_refund_stripe
from shop.templatetags.shop_tags import money


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ["title", "product", "quantity", "unit_price_cents", "unit_price_points"]
    readonly_fields = fields


class OrderPaymentInline(ReadOnlyInline):
    """What paid for the order: one row at most (the database refuses a second). A card payment that arrived for
    an order already paid, or for items paid with points meanwhile, was refunded: the history says so."""

    model = OrderPayment
    fields = ["created_at", "method", "amount", "currency", "stripe_payment_intent_id"]
    readonly_fields = fields
    verbose_name_plural = "Payment"


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ["created_at", "change", "reason", "changed_by"]
    readonly_fields = fields
    verbose_name_plural = "Status history"

    @admin.display(description="Status")
    def change(self, row):
        return str(row)


class RefundForm(SingleUseFormMixin, forms.Form):
    """Single-use (``ops.single_use``). The amount is points for an order paid with points, money as staff write
    it ("19.99") for a card order."""

    amount = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(max_length=250, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        if order.payment_method == PaymentMethod.POINTS:
            self.fields["amount"] = forms.IntegerField(
                required=False, min_value=1, label="Points",
                help_text="Whole points. Leave empty to refund everything that is left.")
        else:
            self.fields["amount"] = MoneyField(
                required=False, currency=order.currency, label=f"Amount ({order.currency.upper()})",
                help_text=f"As money, e.g. 19.99 for {money(1999, order.currency)}. Leave empty to refund everything "
                          f"that is left.")


def refund_unavailable(order: Order) -> str:
    """Why the order cannot be refunded from the admin, or "" when it can."""
    if order.dispute_status in (DisputeStatus.OPEN, DisputeStatus.LOST):
        state = "open" if order.dispute_status == DisputeStatus.OPEN else "lost"
        return (f"The payment is disputed (the dispute is {state}): the cardholder's bank decides the money, so it "
                f"cannot be refunded as well.")
    if order.status != OrderStatus.COMPLETED:
        return "Only completed orders can be refunded."
    return ""


@admin.register(Order)
class OrderAdmin(FastChangeList, admin.ModelAdmin):
    list_display = ["short_id", "user", "payment_method", "status", "dispute_status", "total", "refunded",
                    "created_at"]
    list_filter = ["status", "dispute_status", "payment_method", ("superseded_by", admin.EmptyFieldListFilter),
                   "created_at"]
    search_fields = ["id", "user__email", "stripe_payment_intent_id", "idempotency_key"]  # shows the box
    exact_search_fields = ["id", "stripe_payment_intent_id", "idempotency_key"]
    email_search = ("user", "email")
    search_help_text = ("An order's short id (8 characters) or exact id, an exact Stripe payment intent or "
                        "idempotency key, or the start of an email.")
    list_select_related = ["user"]
    # No date_hierarchy: its year links come from a DISTINCT over every order. The created_at filter is free.
    ordering = ["-created_at", "-id"]  # the order_newest_idx index
    # The column the index keeps in order: sorting by another reads and sorts every order (ops.admin_search).
    sortable_by = ["created_at"]
    inlines = [OrderItemInline, OrderPaymentInline, OrderStatusChangeInline]
    readonly_fields = ["id", "user", "payment_method", "status", "dispute_status", "total_cents", "total_points",
                       "currency", "refunded_cents", "refunded_points", "idempotency_key", "stripe_payment_intent_id",
                       "superseded_by", "fulfilled_at", "confirmation_sent_at", "created_at", "updated_at",
                       "refund_link"]
    fieldsets = [
        (None, {"fields": ["id", "user", "status", "dispute_status", "payment_method", "refund_link"]}),
        ("Money", {"fields": ["total_cents", "total_points", "currency", "refunded_cents", "refunded_points"]}),
        ("Payment", {"fields": ["idempotency_key", "stripe_payment_intent_id", "superseded_by"]}),
        ("Dates", {"fields": ["created_at", "updated_at", "fulfilled_at", "confirmation_sent_at"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def search_more(self, term):
        return uuid_prefix_range(term)

    @admin.display(description="Total")
    def total(self, order):
        return format_points(order.total_points) if order.payment_method == PaymentMethod.POINTS else \
            money(order.total_cents, order.currency)

    @admin.display(description="Refunded")
    def refunded(self, order):
        if order.payment_method == PaymentMethod.POINTS:
            return format_points(order.refunded_points) if order.refunded_points else "-"
        return money(order.refunded_cents, order.currency) if order.refunded_cents else "-"

    @admin.display(description="Refund")
    def refund_link(self, order):
        unavailable = refund_unavailable(order)
        if unavailable:
            return unavailable
        return format_html('<a class="button" href="{}">Refund this order…</a>',
                           reverse("admin:orders_order_refund", args=[order.pk]))

    def get_urls(self):
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<uuid:order_id>/refund/", refund, name="orders_order_refund"), *super().get_urls()]

    def refund_view(self, request, order_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        purpose = f"order-refund:{order.pk}"
        form = RefundForm(request.POST or None, order=order, once=single_use_token(user=request.user, purpose=purpose))
        if request.method == "POST" and form.is_valid():
            def claim():
                return single_use_token_spend(token=form.cleaned_data["once"], user=request.user, purpose=purpose)
            try:
                self._refund(order, request.user, form.cleaned_data, claim=claim)
            except (RefundRefused, FormTokenRefused) as refusal:
                form.add_error(None, str(refusal))
            else:
                if order.payment_method == PaymentMethod.POINTS:
                    messages.success(request, f"Refund of order {order.short_id} recorded.")
                else:
                    messages.success(request, f"Refund of order {order.short_id} requested from Stripe: the order "
                                              f"is marked refunded once Stripe accepts it, and again completed if "
                                              f"the refund fails.")
                return redirect("admin:orders_order_change", order.pk)
        context = {**self.admin_site.each_context(request), "order": order, "form": form, "opts": self.model._meta,
                   "unavailable": refund_unavailable(order),
                   "title": f"Refund order {order.short_id}",
                   "history": order.status_changes.select_related("changed_by").order_by("-created_at", "-id")[:10]}
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def _refund(self, order, staff_user, data, *, claim):
        if order.payment_method == PaymentMethod.POINTS:
            return order_refund_points(order_id=order.pk, staff_user=staff_user, reason=data["reason"],
                                       points=data["amount"], claim=claim)
        return order_refund_stripe(order_id=order.pk, staff_user=staff_user, reason=data["reason"],
                                   cents=data["amount"], claim=claim)


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "added_at"]
    search_fields = ["user__email", "product__title"]
    list_select_related = ["user", "product"]
    readonly_fields = ["user", "product", "added_at", "updated_at"]

    def has_add_permission(self, request):
        return False
