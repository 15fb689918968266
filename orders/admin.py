from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ops.admin_search import FastChangeList, uuid_prefix_range
from orders.errors import RefundRefused
from orders.models import CartItem, Order, OrderItem, OrderPayment, OrderStatusChange, PaymentMethod
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
    fields = ["created_at", "from_status", "to_status", "reason", "changed_by"]
    readonly_fields = fields
    verbose_name_plural = "Status history"


class RefundForm(forms.Form):
    amount = forms.IntegerField(required=False, min_value=1,
                                help_text="Points for an order paid with points, cents for a card order (1999 is "
                                          "$19.99). Leave empty to refund everything that is left.")
    reason = forms.CharField(max_length=250, widget=forms.Textarea(attrs={"rows": 3}))


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
        return f"{order.total_points} pts" if order.payment_method == PaymentMethod.POINTS else \
            money(order.total_cents, order.currency)

    @admin.display(description="Refunded")
    def refunded(self, order):
        if order.payment_method == PaymentMethod.POINTS:
            return f"{order.refunded_points} pts" if order.refunded_points else "-"
        return money(order.refunded_cents, order.currency) if order.refunded_cents else "-"

    @admin.display(description="Refund")
    def refund_link(self, order):
        if order.status != "completed":
            return "Only completed orders can be refunded."
        return format_html('<a class="button" href="{}">Refund this order…</a>',
                           reverse("admin:orders_order_refund", args=[order.pk]))

    def get_urls(self):
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<uuid:order_id>/refund/", refund, name="orders_order_refund"), *super().get_urls()]

    def refund_view(self, request, order_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                self._refund(order, request.user, form.cleaned_data)
            except RefundRefused as refusal:
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
                   "title": f"Refund order {order.short_id}",
                   "history": order.status_changes.select_related("changed_by").order_by("-created_at", "-id")[:10]}
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def _refund(self, order, staff_user, data):
        if order.payment_method == PaymentMethod.POINTS:
            return order_refund_points(order_id=order.pk, staff_user=staff_user, reason=data["reason"],
                                       points=data["amount"])
        return order_refund_stripe(order_id=order.pk, staff_user=staff_user, reason=data["reason"],
                                   cents=data["amount"])


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "added_at"]
    search_fields = ["user__email", "product__title"]
    list_select_related = ["user", "product"]
    readonly_fields = ["user", "product", "added_at", "updated_at"]

    def has_add_permission(self, request):
        return False
