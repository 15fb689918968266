import json

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from checkout.gateway import PaymentProviderError, stripe_dashboard_url
from checkout.kinds import UnknownSessionKind, handler_for, registered
from checkout.models import (
    CheckoutSession,
    CheckoutSessionStatusChange,
    Dispute,
    DisputeStatusChange,
    Refund,
    RefundStatusChange,
    StripeBooksCheck,
    WebhookEvent,
)
from checkout.money import format_money
from checkout.selectors import checkout_session_refunds, refund_description
from checkout.services import checkout_session_reconcile, webhook_events_reprocess
from checkout.services.webhooks import HANDLERS
from ops.admin_search import FastChangeList, uuid_prefix_range


class ReadOnlyAdmin(admin.ModelAdmin):
    """Payment records are evidence: staff look, filter and act through services, never edit rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StatusHistoryInline(ReadOnlyInline):
    """A model's history rows (``ops.state_machine``): the session's, a refund's."""

    fields = ["created_at", "change", "note"]
    readonly_fields = fields
    verbose_name_plural = "Status history"
    show_change_link = False

    @admin.display(description="Status")
    def change(self, row):
        return str(row)


class SessionHistoryInline(StatusHistoryInline):
    model = CheckoutSessionStatusChange


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["created_at", "amount_cents", "status", "origin", "reason", "requested_by", "stripe_refund_id",
              "failure_message"]
    readonly_fields = fields


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = ["stripe_dispute_id", "status", "amount_cents", "reason", "evidence_due_by", "outcome", "seller_note"]
    readonly_fields = fields


class ChoicesFilter(admin.SimpleListFilter):
    """A filter on a column without ``choices`` from a fixed list: Django's own would list the column's values
    with a SELECT DISTINCT over the whole table on every page."""

    field_name = ""

    def values(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.values()

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field_name: self.value()}) if self.value() else queryset


class SessionKindFilter(ChoicesFilter):
    title = parameter_name = field_name = "kind"

    def values(self):
        return [(kind.name, kind.name) for kind in registered()]


class StripeStatusFilter(ChoicesFilter):
    title = "Stripe status"
    parameter_name = field_name = "stripe_status"

    def values(self):
        return [("open", "open"), ("complete", "complete"), ("expired", "expired")]


class EventTypeFilter(ChoicesFilter):
    title = parameter_name = field_name = "type"

    def values(self):
        return [(event_type, event_type) for event_type in sorted(HANDLERS)]


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(FastChangeList, ReadOnlyAdmin):
    list_display = ["title", "user", "price", "kind", "status", "stripe_status", "stripe_payment_status",
                    "created_at", "expires_at", "completed_at", "id"]
    list_filter = ["status", SessionKindFilter, StripeStatusFilter, "awaiting_stripe", "created_at"]
    search_fields = ["=id", "user__email", "=stripe_session_id", "=stripe_payment_intent_id"]  # shows the box
    exact_search_fields = ["id", "stripe_session_id", "stripe_payment_intent_id"]
    email_search = ("user", "email")
    search_help_text = ("A session's exact id or the first 8 characters of it, an exact Stripe session or payment "
                        "intent id, or the start of an email.")
    list_select_related = ["user"]
    # No date_hierarchy: its year links come from a DISTINCT over every session. The created_at filter is free.
    ordering = ["-created_at", "-id"]  # the checkout_newest_idx index
    # The column the index keeps in order: sorting by another reads and sorts every session (ops.admin_search).
    sortable_by = ["created_at"]
    readonly_fields = [*(field.name for field in CheckoutSession._meta.fields), "refund_link"]
    actions = ["reconcile_with_stripe"]
    inlines = [RefundInline, DisputeInline, SessionHistoryInline]

    def search_more(self, term):
        return uuid_prefix_range(term)

    @admin.display(description="Price", ordering="amount_cents")
    def price(self, session):
        return format_money(session.amount_cents, session.currency)

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
        """Refunds are made where what the session sold is managed (the order, the points purchase): its kind
        says where."""
        refunds = checkout_session_refunds(session=session)
        if refunds:
            return " ".join(refund_description(refund) for refund in refunds)
        try:
            url = handler_for(session.kind).refund_url(session)
        except UnknownSessionKind:
            url = None
        if session.status != CheckoutSession.Status.COMPLETED or url is None:
            return "Only paid sessions are refunded, from what they sold."
        return format_html('<a class="button" href="{}">Refund…</a>', url)


class RefundHistoryInline(StatusHistoryInline):
    model = RefundStatusChange


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Refunds are made from what was sold (an order, a points purchase) and sent to Stripe by the services."""

    list_display = ["created_at", "session", "price", "status", "origin", "requested_by", "stripe_refund_id",
                    "attempts"]
    list_filter = ["status", "origin", "created_at"]
    search_fields = ["=id", "=session__id", "=stripe_refund_id", "=idempotency_key", "session__user__email"]
    list_select_related = ["session__user", "requested_by"]
    readonly_fields = [field.name for field in Refund._meta.fields]
    inlines = [RefundHistoryInline]
    show_full_result_count = False

    @admin.display(description="Amount", ordering="amount_cents")
    def price(self, refund):
        return format_money(refund.amount_cents, refund.currency)


class DisputeOpenFilter(admin.SimpleListFilter):
    title = "open or closed"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(outcome="")
        if self.value() == "closed":
            return queryset.exclude(outcome="")
        return queryset


class DisputeHistoryInline(StatusHistoryInline):
    model = DisputeStatusChange


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Disputes mirror Stripe: staff answer them with evidence in Stripe's dashboard (linked), and follow here
    what the shop held back and how they ended."""

    list_display = ["stripe_dispute_id", "session_link", "amount", "reason", "status", "evidence_due_by",
                    "opened_at", "outcome", "closed_at"]
    list_filter = [DisputeOpenFilter, "status", "outcome", "reason", "opened_at"]
    search_fields = ["=stripe_dispute_id", "=stripe_payment_intent_id", "=stripe_charge_id", "=session__id",
                     "session__user__email"]
    list_select_related = ["session__user"]
    ordering = ["outcome", F("evidence_due_by").asc(nulls_last=True)]  # open ones ("") first, most urgent first
    date_hierarchy = "opened_at"
    readonly_fields = [*(field.name for field in Dispute._meta.fields), "sold", "in_stripe"]
    inlines = [DisputeHistoryInline]
    show_full_result_count = False

    @admin.display(description="Amount", ordering="amount_cents")
    def amount(self, dispute):
        return format_money(dispute.amount_cents, dispute.currency)

    @admin.display(description="Checkout session", ordering="session__created_at")
    def session_link(self, dispute):
        return format_html('<a href="{}">{}</a>', reverse("admin:checkout_checkoutsession_change",
                                                          args=[dispute.session_id]), dispute.session.title)

    @admin.display(description="What was sold")
    def sold(self, dispute):
        try:
            url = handler_for(dispute.session.kind).staff_url(dispute.session)
        except UnknownSessionKind:
            url = None
        return format_html('<a href="{}">{}</a>', url, dispute.session.title) if url else dispute.session.title

    @admin.display(description="Respond in Stripe")
    def in_stripe(self, dispute):
        return format_html('<a href="{}" rel="noopener">Open in Stripe\'s dashboard</a>',
                           stripe_dashboard_url(f"disputes/{dispute.stripe_dispute_id}"))


class ApiVersionFilter(admin.SimpleListFilter):
    """Events rendered at another API version than the pinned one (``STRIPE_API_VERSION``): their objects may be
    shaped differently, and the endpoint's version in Stripe's dashboard should be aligned."""

    title = "API version"
    parameter_name = "api_version"

    def lookups(self, request, model_admin):
        return [("pinned", f"The pinned one ({settings.STRIPE_API_VERSION})"), ("other", "Another version")]

    def queryset(self, request, queryset):
        if self.value() == "pinned":
            return queryset.filter(api_version=settings.STRIPE_API_VERSION)
        if self.value() == "other":
            return queryset.exclude(api_version=settings.STRIPE_API_VERSION)
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(FastChangeList, ReadOnlyAdmin):
    list_display = ["event_id", "type", "status", "attempts", "stripe_object_id", "version", "received_at",
                    "processed_at"]
    list_filter = ["status", ApiVersionFilter, EventTypeFilter, "received_at"]
    search_fields = ["=event_id", "=stripe_object_id"]  # shows the box
    exact_search_fields = ["event_id", "stripe_object_id"]
    search_help_text = "An exact event id or the exact id of the Stripe object it is about."
    ordering = ["-received_at", "-id"]  # the webhook_newest_idx index
    # The column the index keeps in order: sorting by another reads and sorts every event (ops.admin_search).
    sortable_by = ["received_at"]
    # Listed once each: the model's own api_version and error columns are shown through version and outcome.
    fields = readonly_fields = ["event_id", "type", "status", "outcome", "attempts", "stripe_object_id", "version",
                                "received_at", "processed_at", "pretty_payload"]
    actions = ["reprocess"]

    @admin.display(description="Outcome")
    def outcome(self, event):
        """``error`` holds what processing did ("credited") or, for a failed delivery, why it failed."""
        if not event.error:
            return "-"
        if event.status == WebhookEvent.Status.FAILED:
            return f"Failed: {event.error}"
        return event.error

    @admin.display(description="API version", ordering="api_version")
    def version(self, event):
        if event.api_version == settings.STRIPE_API_VERSION:
            return event.api_version
        return format_html('<strong style="color:#ba2121">{} (not the pinned {})</strong>',
                           event.api_version or "none", settings.STRIPE_API_VERSION)

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


@admin.register(StripeBooksCheck)
class StripeBooksCheckAdmin(ReadOnlyAdmin):
    """Each comparison of the books with Stripe's (``stripe_reconcile``, daily on beat), newest first."""

    list_display = ["ran_at", "since", "until", "difference_count", "has_error"]
    list_filter = ["ran_at"]
    readonly_fields = ["ran_at", "since", "until", "compared", "difference_count", "error", "difference_list"]
    exclude = ["differences"]
    show_full_result_count = False

    @admin.display(description="Stripe unreachable", boolean=True)
    def has_error(self, check):
        return bool(check.error)

    @admin.display(description="Differences")
    def difference_list(self, check):
        if not check.differences:
            return "None: the shop's books match Stripe's." if not check.error else "-"
        rows = format_html_join("", "<li><strong>{}</strong>: {}</li>",
                                ((difference["code"], difference["summary"]) for difference in check.differences))
        return format_html("<ul>{}</ul>", rows)
