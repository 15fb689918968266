"""The staff dashboard (/admin/dashboard/): today's money and points, what is waiting, what failed.

Every figure is one aggregate over an indexed column set, so the page costs the same handful of queries
however many orders, ledger entries or sessions there are (tests/config/test_dashboard.py counts them), and
each reads an index range bounded by today's window (orders, ledger entries, sessions and refunds by their
creation, sales by completion) or a partial index of what is still open (waiting orders, sessions awaiting
Stripe, failed webhooks, open disputes and shortfalls) -- never a whole table (EXPLAINed by
tests/config/test_pages_read_through_indexes.py). No all-time figures: their cost would grow with the shop's age.
"Today" is the current day in TIME_ZONE. Amounts are integer cents of the shop's currency and integer points.

Net money is what was sold today less what was refunded today, of every kind (card orders, points packages): a
refund counts on the day it was asked for (or, made in Stripe's Dashboard, the day the shop heard of it) while
Stripe has it pending or succeeded; one that failed or was canceled does not count -- not even on its day once it
fails after having succeeded -- and is listed under "Refunds that failed" instead.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.template.response import TemplateResponse
from django.utils import timezone

from checkout.models import CheckoutSession, Dispute, Refund, StripeBooksCheck, WebhookEvent
from checkout.selectors import refunds_undone
from checkout.services.books import stripe_books_latest
from ops.health import service_problems
from orders.models import CART, Order, OrderStatus, PaymentMethod
from wallet.models import POINTS_PACKAGE, LedgerEntry, RefundShortfall

RECENT_FAILURES = 10
OPEN_DISPUTES_SHOWN = 20
PAID = [OrderStatus.COMPLETED, OrderStatus.REFUNDED]
WAITING = [OrderStatus.PENDING]


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    card_orders: int
    card_sales_cents: int
    points_orders: int
    points_sales: int
    points_refunded: int
    package_sales: int
    package_sales_cents: int
    points_by_kind: dict[str, int]
    points_credited: int
    points_spent: int
    orders_waiting: int
    orders_waiting_cents: int
    sessions_awaiting_stripe: int
    sessions_by_status: dict[str, int]
    failed_webhooks: int
    recent_failures: list
    books_check: StripeBooksCheck | None
    refunded_cents_by_kind: dict[str, int]
    undone_refunds: int
    recent_undone_refunds: list
    open_shortfalls: int
    open_shortfall_points: int
    lost_disputes_cents: int = 0
    open_disputes: int = 0
    open_dispute_rows: tuple = ()
    webhooks_needing_attention: int = 0
    refunds_by_the_shop: int = 0
    refunds_by_the_shop_cents: int = 0

    @property
    def card_refunded_cents(self) -> int:
        return self.refunded_cents_by_kind.get(CART, 0)

    @property
    def package_refunded_cents(self) -> int:
        return self.refunded_cents_by_kind.get(POINTS_PACKAGE, 0)

    @property
    def refunded_cents(self) -> int:
        """Every kind's refunds counted today (kinds the dashboard has no row for included)."""
        return sum(self.refunded_cents_by_kind.values())

    @property
    def sales_cents(self) -> int:
        return self.card_sales_cents + self.package_sales_cents - self.refunded_cents - self.lost_disputes_cents


def start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard_figures(*, since: datetime | None = None) -> Dashboard:
    since = since or start_of_today()
    card, points = Q(payment_method=PaymentMethod.STRIPE), Q(payment_method=PaymentMethod.POINTS)
    today_paid = Q(status__in=PAID)
    orders = Order.objects.filter(created_at__gte=since).aggregate(
        card_orders=Count("id", filter=card & today_paid),
        card_sales=Sum("total_cents", filter=card & today_paid, default=0),
        points_orders=Count("id", filter=points & today_paid),
        points_sales=Sum("total_points", filter=points & today_paid, default=0),
        points_refunded=Sum("refunded_points", filter=points & today_paid, default=0),
    )
    waiting = Order.objects.filter(status__in=WAITING).aggregate(
        count=Count("id"), cents=Sum("total_cents", filter=card, default=0))
    packages = CheckoutSession.objects.filter(
        status=CheckoutSession.Status.COMPLETED, completed_at__gte=since,
        kind=POINTS_PACKAGE).aggregate(count=Count("id"), cents=Sum("amount_cents", default=0))
    by_kind = dict(LedgerEntry.objects.filter(created_at__gte=since).order_by().values_list("kind")
                   .annotate(points=Sum("amount")).values_list("kind", "points"))
    # Sessions started today by status, and those awaiting Stripe whenever they started (a partial index).
    started_today, awaiting = Q(created_at__gte=since), Q(awaiting_stripe=True)
    sessions = list(CheckoutSession.objects.filter(started_today | awaiting).order_by().values("status").annotate(
        count=Count("id", filter=started_today), awaiting=Count("id", filter=awaiting))
        .values_list("status", "count", "awaiting"))
    failures = list(WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by("-received_at")
                    .only("id", "event_id", "type", "attempts", "error", "received_at")[:RECENT_FAILURES])
    failed, attention = WebhookEvent.Status.FAILED, WebhookEvent.Status.ATTENTION
    webhook_counts = WebhookEvent.objects.filter(status__in=[failed, attention]).aggregate(
        failed=Count("id", filter=Q(status=failed)), attention=Count("id", filter=Q(status=attention)))
    # Payments the shop refunded on its own because it could not deliver them (paid twice, sold out meanwhile,
    # paid after their checkout session was deleted): no staff member asked for them.
    by_the_shop = Refund.objects.filter(created_at__gte=since, requested_by__isnull=True,
                                        origin=Refund.Origin.SHOP).aggregate(
        count=Count("id"), cents=Sum("amount_cents", default=0))
    lost = Q(outcome=Dispute.Outcome.LOST, closed_at__gte=since)
    disputes = Dispute.objects.filter(Q(outcome="") | lost).aggregate(
        open=Count("id", filter=Q(outcome="")),
        lost=Sum("amount_cents", filter=lost, default=0))
    open_disputes = (Dispute.objects.filter(outcome="").select_related("session__user")
                     .order_by(F("evidence_due_by").asc(nulls_last=True), "opened_at")[:OPEN_DISPUTES_SHOWN])
    refunded = dict(Refund.objects.filter(created_at__gte=since, status__in=Refund.ACCEPTED).order_by()
                    .values_list("session__kind").annotate(cents=Sum("amount_cents")).values_list("session__kind",
                                                                                                   "cents"))
    undone_count, undone = refunds_undone(limit=RECENT_FAILURES)
    shortfalls = RefundShortfall.objects.filter(settled_at__isnull=True).aggregate(
        count=Count("pk"), points=Sum("points", default=0))
    return Dashboard(
        since=since,
        card_orders=orders["card_orders"], card_sales_cents=orders["card_sales"],
        points_orders=orders["points_orders"],
        points_sales=orders["points_sales"], points_refunded=orders["points_refunded"],
        package_sales=packages["count"], package_sales_cents=packages["cents"],
        points_by_kind=by_kind,
        points_credited=sum(amount for amount in by_kind.values() if amount > 0),
        points_spent=-by_kind.get(LedgerEntry.Kind.SPEND, 0),
        orders_waiting=waiting["count"], orders_waiting_cents=waiting["cents"],
        sessions_awaiting_stripe=sum(awaiting for _, _, awaiting in sessions),
        sessions_by_status={status: count for status, count, _ in sessions if count},
        failed_webhooks=webhook_counts["failed"], recent_failures=failures,
        webhooks_needing_attention=webhook_counts["attention"],
        refunds_by_the_shop=by_the_shop["count"], refunds_by_the_shop_cents=by_the_shop["cents"],
        books_check=stripe_books_latest(),
        # Money a lost dispute took back, counted the day the dispute was lost.
        lost_disputes_cents=disputes["lost"], open_disputes=disputes["open"], open_dispute_rows=tuple(open_disputes),
        refunded_cents_by_kind=refunded, undone_refunds=undone_count, recent_undone_refunds=undone,
        open_shortfalls=shortfalls["count"], open_shortfall_points=shortfalls["points"],
    )


def dashboard_view(request, admin_site):
    figures = dashboard_figures()
    context = {
        **admin_site.each_context(request),
        "title": "Today at the shop",
        "figures": figures,
        # What /healthz says: a Redis outage shows here as well as to the load balancer.
        "services": [(name, problem) for name, problem in service_problems().items()],
        "currency": settings.SHOP_CURRENCY,
        "session_statuses": [(label, figures.sessions_by_status.get(value, 0))
                             for value, label in CheckoutSession.Status.choices],
        "ledger_kinds": [(label, figures.points_by_kind.get(value, 0)) for value, label in LedgerEntry.Kind.choices],
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
