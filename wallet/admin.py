from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from wallet.forms import AdjustBalanceForm
from wallet.models import LedgerEntry, Wallet
from wallet.services import InsufficientPoints, WalletError, wallet_adjust
from wallet.templatetags.wallet_tags import signed_points


class ReadOnlyAdmin(admin.ModelAdmin):
    """Points only move through the services: nothing here adds, edits or deletes a row."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["user", "balance", "lifetime", "spent", "updated_at", "adjust_link"]
    list_select_related = ["user"]
    list_filter = [("updated_at", admin.DateFieldListFilter)]
    search_fields = ["user__email"]
    ordering = ["-updated_at"]
    fields = ["user", "balance", "lifetime", "spent", "updated_at", "ledger_link", "adjust_link"]
    readonly_fields = fields

    def get_urls(self):
        adjust = path("<int:wallet_id>/adjust/", self.admin_site.admin_view(self.adjust_view),
                      name="wallet_wallet_adjust")
        return [adjust, *super().get_urls()]

    @admin.display(description="Ledger")
    def ledger_link(self, wallet):
        url = reverse("admin:wallet_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}"
        return format_html('<a href="{}">All entries of this wallet</a>', url)

    @admin.display(description="Adjust")
    def adjust_link(self, wallet):
        return format_html('<a href="{}">Adjust balance</a>', reverse("admin:wallet_wallet_adjust", args=[wallet.pk]))

    def adjust_view(self, request, wallet_id):
        """Staff add or remove points with a reason, through ``wallet_adjust``: recorded as an adjustment entry
        with the staff member, refused (nothing changes) if it would take the balance below zero."""
        if not request.user.has_perm("wallet.adjust_balance"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = wallet_adjust(
                    user=wallet.user, points=form.cleaned_data["points"], reason=form.cleaned_data["reason"],
                    staff_user=request.user, idempotency_key=f"admin-adjust:{form.cleaned_data['request_id']}")
            except InsufficientPoints as refusal:
                form.add_error("points", f"{refusal} Nothing was changed.")
            except WalletError as refusal:
                form.add_error(None, f"{refusal} Nothing was changed.")
            else:
                messages.success(request, f"Adjusted {wallet.user} by {signed_points(entry.amount)}: "
                                          f"the balance is now {entry.balance_after} points.")
                return redirect("admin:wallet_wallet_change", wallet.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust the balance of {wallet.user}",
            "opts": self.opts,
            "original": wallet,
            "form": form,
        }
        return TemplateResponse(request, "admin/wallet/wallet/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "owner", "kind", "points", "balance_after", "description", "created_by",
                    "stripe_object_id", "idempotency_key"]
    list_select_related = ["wallet__user", "created_by"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["wallet__user__email", "idempotency_key__exact", "stripe_object_id__exact"]
    search_help_text = "Shopper's email (or part of it), an exact idempotency key or an exact Stripe id."
    ordering = ["-created_at", "-id"]
    show_full_result_count = False  # no second COUNT(*) over a million rows on every search
    fields = ["wallet", "kind", "amount", "balance_after", "description", "idempotency_key", "stripe_object_id",
              "reverses", "created_by", "metadata", "created_at"]
    readonly_fields = fields

    @admin.display(description="Shopper", ordering="wallet__user__email")
    def owner(self, entry):
        return entry.wallet.user

    @admin.display(description="Points", ordering="amount")
    def points(self, entry):
        return signed_points(entry.amount)
