from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from checkout.money import format_money, format_points
from ops.admin_columns import formatted_column
from ops.admin_search import FastChangeList
from ops.single_use import (
    FormTokenRefused,
    SingleUseFormMixin,
    single_use_token,
    single_use_token_spend,
)
from checkout.selectors import (
    checkout_session_disputes,
    checkout_session_refunds,
    dispute_description,
    refund_description,
)
from checkout.services import RefundRefused, checkout_session_refund
from wallet.forms import AdjustBalanceForm
from wallet.models import LedgerEntry, PointsPackage, PointsPurchase, RefundShortfall, Wallet
from wallet.selectors import points_purchase_credit, wallet_balance
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
    list_display = ["user", "balance_shown", "lifetime_shown", "spent_shown", "updated_at", "adjust_link"]
    list_select_related = ["user"]
    list_filter = [("updated_at", admin.DateFieldListFilter)]
    search_fields = ["user__email"]
    ordering = ["-updated_at"]
    fields = ["user", "balance_shown", "lifetime_shown", "spent_shown", "updated_at", "ledger_link", "adjust_link"]
    readonly_fields = fields
    balance_shown = formatted_column("balance", "Balance", format_points)
    lifetime_shown = formatted_column("lifetime", "Lifetime", format_points)
    spent_shown = formatted_column("spent", "Spent", format_points)

    def get_urls(self):
        adjust = path("<int:wallet_id>/adjust/",
                      self.admin_site.admin_view(self.adjust_view),
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
        with the staff member, refused (nothing changes) if it would take the balance below zero. The form is
        single-use (``ops.single_use``): submitted again, it adjusts nothing and says so."""
        if not request.user.has_perm("wallet.adjust_balance"):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        purpose = f"wallet-adjust:{wallet.pk}"
        form = AdjustBalanceForm(request.POST or None, once=single_use_token(user=request.user, purpose=purpose))
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    nonce = single_use_token_spend(token=form.cleaned_data["once"], user=request.user,
                                                   purpose=purpose)
                    entry = wallet_adjust(
                        user=wallet.user, points=form.cleaned_data["points"], reason=form.cleaned_data["reason"],
                        staff_user=request.user, idempotency_key=f"admin-adjust:{nonce}")
            except FormTokenRefused as refusal:
                form.add_error(None, str(refusal))
            except InsufficientPoints as refusal:
                form.add_error("points", f"{refusal} Nothing was changed.")
            except WalletError as refusal:
                form.add_error(None, f"{refusal} Nothing was changed.")
            else:
                messages.success(request, f"Adjusted {wallet.user} by {signed_points(entry.amount)}: "
                                          f"the balance is now {format_points(entry.balance_after)}.")
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
class LedgerEntryAdmin(FastChangeList, ReadOnlyAdmin):
    list_display = ["created_at", "owner", "kind", "points", "balance_after_shown", "description", "created_by",
                    "stripe_object_id", "idempotency_key"]
    list_select_related = ["wallet__user", "created_by"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["wallet__user__email", "idempotency_key", "stripe_object_id"]  # shows the box: see below
    exact_search_fields = ["idempotency_key", "stripe_object_id"]
    email_search = ("wallet", "user__email")
    search_help_text = ("The start of a shopper's email (or all of it), an exact idempotency key or an exact "
                        "Stripe id.")
    ordering = ["-created_at", "-id"]  # the ledger_newest_idx index
    # The columns an index keeps in order: sorting by any other reads and sorts the whole ledger (by shopper: the
    # first shopper's whole history, as PostgreSQL does not know the wallet index keeps it newest first).
    sortable_by = ["created_at", "idempotency_key"]
    fields = ["wallet", "kind", "points", "balance_after_shown", "description", "idempotency_key", "stripe_object_id",
              "reverses", "created_by", "metadata", "created_at"]
    readonly_fields = fields

    @admin.display(description="Shopper", ordering="wallet__user__email")
    def owner(self, entry):
        return entry.wallet.user

    @admin.display(description="Points", ordering="amount")
    def points(self, entry):
        return signed_points(entry.amount)

    balance_after_shown = formatted_column("balance_after", "Balance after", format_points)


@admin.register(PointsPackage)
class PointsPackageAdmin(admin.ModelAdmin):
    list_display = ["name", "points_shown", "price", "is_active", "sort_order"]
    list_filter = ["is_active", "currency"]
    list_editable = ["is_active", "sort_order"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]

    points_shown = formatted_column("points", "Points", format_points)

    @admin.display(description="Price", ordering="price_cents")
    def price(self, package):
        return format_money(package.price_cents, package.currency)


class PackageRefundForm(SingleUseFormMixin, forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Kept on the purchase and in the shopper's points history.")


# Refunding moves money: checkout's permission, whichever page asks for it.
REFUND_PERMISSION = "checkout.refund_checkoutsession"


@admin.register(PointsPurchase)
class PointsPurchaseAdmin(ReadOnlyAdmin):
    list_display = ["checkout_session", "shopper", "package", "points_shown", "price", "status"]
    list_filter = ["checkout_session__status", "package"]
    search_fields = ["=checkout_session__id", "checkout_session__user__email",
                     "=checkout_session__stripe_payment_intent_id"]
    list_select_related = ["checkout_session__user", "package"]
    fields = ["checkout_session", "shopper", "package", "points_shown", "price", "status", "credit", "refund_link",
              "disputes", "dispute_held", "dispute_shortfall"]
    readonly_fields = fields
    actions = ["refund_purchase"]
    show_full_result_count = False

    points_shown = formatted_column("points", "Points", format_points)
    dispute_held = formatted_column("dispute_held_points", "Held back while disputed", format_points)
    dispute_shortfall = formatted_column("dispute_shortfall_points", "Could not be held back (spent already)",
                                         format_points)

    @admin.display(description="Shopper", ordering="checkout_session__user__email")
    def shopper(self, purchase):
        return purchase.checkout_session.user

    @admin.display(description="Price", ordering="checkout_session__amount_cents")
    def price(self, purchase):
        return format_money(purchase.checkout_session.amount_cents, purchase.checkout_session.currency)

    @admin.display(description="Credit")
    def credit(self, purchase):
        return points_purchase_credit(purchase=purchase) or "-"

    @admin.display(description="Checkout status", ordering="checkout_session__status")
    def status(self, purchase):
        return purchase.checkout_session.get_status_display()

    @admin.display(description="Disputes")
    def disputes(self, purchase):
        disputes = checkout_session_disputes(session=purchase.checkout_session)
        return format_html_join(" ", '<a href="{}">{}</a>', (
            (reverse("admin:checkout_dispute_change", args=[dispute.pk]), dispute_description(dispute))
            for dispute in disputes)) or "-"

    @admin.display(description="Refund")
    def refund_link(self, purchase):
        session = purchase.checkout_session
        refunds = checkout_session_refunds(session=session)
        if any(refund.counts for refund in refunds):
            shortfalls = [f"{shortfall.points:,} points could not be taken back (spent already)."
                          for shortfall in purchase.refund_shortfalls.filter(settled_at__isnull=True)]
            return " ".join([*(refund_description(refund) for refund in refunds), *shortfalls])
        if session.status != session.Status.COMPLETED:
            return "Only paid and credited purchases are refunded."
        if any(dispute.outcome in ("", "lost") for dispute in checkout_session_disputes(session=session)):
            return "The payment is disputed: the cardholder's bank decides the money, so it cannot be refunded as well."
        return format_html('<a class="button" href="{}">Refund this purchase…</a>',
                           reverse("admin:wallet_pointspurchase_refund", args=[session.pk]))

    @admin.action(description="Refund the selected points package purchase…", permissions=["refund"])
    def refund_purchase(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True)[:2])
        if len(selected) != 1:
            self.message_user(request, "Refunds are made one purchase at a time: select exactly one.",
                              messages.WARNING)
            return None
        return redirect("admin:wallet_pointspurchase_refund", selected[0])

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm(REFUND_PERMISSION)

    def get_urls(self):
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<uuid:session_id>/refund/", refund, name="wallet_pointspurchase_refund"),
                *super().get_urls()]

    def refund_view(self, request, session_id):
        """Staff refund a points package purchase: its points taken back and its payment refunded, or a clear
        refusal (points already spent, Stripe failing) with nothing changed."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        purchase = get_object_or_404(
            PointsPurchase.objects.select_related("checkout_session__user"),
            pk=session_id)
        session = purchase.checkout_session
        purpose = f"package-refund:{session.pk}"
        form = PackageRefundForm(request.POST or None, once=single_use_token(user=request.user, purpose=purpose))
        if request.method == "POST" and form.is_valid():
            def claim():
                return single_use_token_spend(token=form.cleaned_data["once"], user=request.user, purpose=purpose)
            try:
                refund = checkout_session_refund(session_id=session.pk, staff_user=request.user,
                                                 reason=form.cleaned_data["reason"], claim=claim)
            except (RefundRefused, FormTokenRefused) as refusal:
                form.add_error(None, str(refusal))
            else:
                sent = ("the payment refunded through Stripe" if refund.status != refund.Status.REQUESTED else
                        "the refund recorded: Stripe could not be reached, so it is sent again automatically")
                messages.success(request, f"Refunded {session.title}: {purchase.points:,} points taken back from "
                                          f"{session.user}, and {sent}.")
                return redirect("admin:wallet_pointspurchase_change", session.pk)
        refunds = checkout_session_refunds(session=session)
        context = {**self.admin_site.each_context(request), "session": session, "purchase": purchase, "form": form,
                   "refunds": refunds, "refunded": any(refund.counts for refund in refunds),
                   "disputed": next((dispute for dispute in checkout_session_disputes(session=session)
                                     if dispute.outcome in ("", "lost")), None),
                   "opts": self.model._meta, "title": f"Refund {session.title} bought by {session.user}",
                   "balance": wallet_balance(user=session.user).current}
        return TemplateResponse(request, "admin/wallet/pointspurchase/refund.html", context)


class OpenShortfallFilter(admin.SimpleListFilter):
    title = "still open"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open"), ("no", "Settled (the refund failed or was canceled)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(settled_at__isnull=self.value() == "yes")
        return queryset


@admin.register(RefundShortfall)
class RefundShortfallAdmin(ReadOnlyAdmin):
    """Points a refund made in Stripe's Dashboard could not take back because the shopper had spent them: what
    staff decide about is theirs (an adjustment, if anything), so this only shows them."""

    list_display = ["created_at", "shopper", "purchase", "points_shown", "refund_amount", "refund", "settled_at"]
    list_filter = [OpenShortfallFilter, "created_at"]
    search_fields = ["purchase__checkout_session__user__email", "=refund__stripe_refund_id"]
    list_select_related = ["purchase__checkout_session__user", "purchase__package", "refund"]
    fields = ["refund", "purchase", "shopper", "points_shown", "refund_amount", "created_at", "settled_at",
              "settled_because"]
    readonly_fields = fields
    points_shown = formatted_column("points", "Points not taken back", format_points)

    @admin.display(description="Shopper", ordering="purchase__checkout_session__user__email")
    def shopper(self, shortfall):
        return shortfall.purchase.checkout_session.user

    @admin.display(description="Refunded", ordering="refund__amount_cents")
    def refund_amount(self, shortfall):
        return format_money(shortfall.refund.amount_cents, shortfall.refund.currency)
