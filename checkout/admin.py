import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession, WebhookEvent
from checkout.services import checkout_session_reconcile, webhook_events_reprocess
from checkout.services.refunds import RefundRefused, checkout_session_refund
from shop.templatetags.shop_tags import money
from wallet.selectors import wallet_balance

REFUND_PERMISSION = "checkout.refund_checkoutsession"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Payment records are evidence: staff look, filter and act through services, never edit rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PackageRefundForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Kept on the purchase and in the shopper's points history.")


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "title", "price", "points", "status", "stripe_status", "stripe_payment_status",
                    "created_at", "expires_at", "completed_at"]
    list_filter = ["status", "kind", "stripe_status", "awaiting_stripe", "created_at"]
    search_fields = ["=id", "user__email", "=stripe_session_id", "=stripe_payment_intent_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [*(field.name for field in CheckoutSession._meta.fields), "refund_link"]
    actions = ["reconcile_with_stripe", "refund_purchase"]
    show_full_result_count = False  # a COUNT(*) over a big table on every page would be the slowest query

    @admin.display(description="Price", ordering="amount_cents")
    def price(self, session):
        return money(session.amount_cents, session.currency)

    @admin.action(description="Ask Stripe about the selected sessions (credits paid ones)")
    def reconcile_with_stripe(self, request, queryset):
        outcomes, failures = {}, 0
        for session in queryset.exclude(stripe_session_id=None):
            try:
                outcome = checkout_session_reconcile(session=session).value
            except PaymentProviderError:
                failures += 1
                continue
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing to do"
        self.message_user(request, f"Reconciled: {summary}.", messages.SUCCESS)
        if failures:
            self.message_user(request, f"Stripe could not be asked about {failures} session(s); try again later.",
                              messages.WARNING)


    @admin.display(description="Refund")
    def refund_link(self, session):
        if session.refunded_cents:
            confirmed = "confirmed by Stripe" if session.refund_confirmed_at else "awaiting Stripe's confirmation"
            return f"Refunded {money(session.refunded_cents, session.currency)} ({confirmed})."
        if session.kind != CheckoutSession.Kind.POINTS_PACKAGE or session.status != CheckoutSession.Status.COMPLETED:
            return "Only completed points package purchases are refunded here (orders from the order's page)."
        return format_html('<a class="button" href="{}">Refund this purchase…</a>',
                           reverse("admin:checkout_checkoutsession_refund", args=[session.pk]))

    @admin.action(description="Refund the selected points package purchase…", permissions=["refund"])
    def refund_purchase(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True)[:2])
        if len(selected) != 1:
            self.message_user(request, "Refunds are made one purchase at a time: select exactly one.",
                              messages.WARNING)
            return None
        return redirect("admin:checkout_checkoutsession_refund", selected[0])

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm(REFUND_PERMISSION)

    def get_urls(self):
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<uuid:session_id>/refund/", refund, name="checkout_checkoutsession_refund"),
                *super().get_urls()]

    def refund_view(self, request, session_id):
        """Staff refund a points package purchase: its points taken back and its payment refunded, or a clear
        refusal (points already spent, Stripe failing) with nothing changed."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        session = get_object_or_404(CheckoutSession.objects.select_related("user", "ledger_entry", "refunded_by"),
                                    pk=session_id)
        form = PackageRefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                checkout_session_refund(session_id=session.pk, staff_user=request.user,
                                        reason=form.cleaned_data["reason"])
            except RefundRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(request, f"Refunded {session.title}: {session.points:,} points taken back from "
                                          f"{session.user}, and the payment refunded through Stripe.")
                return redirect("admin:checkout_checkoutsession_change", session.pk)
        context = {**self.admin_site.each_context(request), "session": session, "form": form,
                   "opts": self.model._meta, "title": f"Refund {session.title} bought by {session.user}",
                   "balance": wallet_balance(user=session.user).current}
        return TemplateResponse(request, "admin/checkout/checkoutsession/refund.html", context)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "status", "attempts", "stripe_object_id", "received_at", "processed_at"]
    list_filter = ["status", "type", "received_at"]
    search_fields = ["=event_id", "=stripe_object_id"]
    date_hierarchy = "received_at"
    readonly_fields = ["event_id", "type", "status", "attempts", "error", "stripe_object_id", "received_at",
                       "processed_at", "pretty_payload"]
    exclude = ["payload"]
    actions = ["reprocess"]
    show_full_result_count = False

    @admin.display(description="Payload")
    def pretty_payload(self, event):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(event.payload, indent=2))

    @admin.action(description="Process the selected failed deliveries again")
    def reprocess(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        counts = webhook_events_reprocess(webhook_event_ids=selected)
        if not counts:
            self.message_user(request, "None of the selected deliveries had failed: nothing to do.", messages.INFO)
            return
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        level = messages.WARNING if counts.get(WebhookEvent.Status.FAILED) else messages.SUCCESS
        self.message_user(request, f"Processed again: {summary}.", level)
