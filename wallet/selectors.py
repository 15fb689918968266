import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from django.db.models import QuerySet, Subquery
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.money import format_money
from checkout.selectors import Follow, Whereabouts, checkout_session_whereabouts
from ops.keyset import PreparedNewestFirst
from ops.prepared import PreparedQuery
from wallet.models import POINTS_PACKAGE, LedgerEntry, PointsPackage, PointsPurchase, Wallet, purchase_credit_key


class Balance(NamedTuple):
    current: int
    lifetime: int
    spent: int


EMPTY_BALANCE = Balance(current=0, lifetime=0, spent=0)


def wallet_balance(*, user) -> Balance:
    """The shopper's balance as the database holds it right now (one query). A user without a wallet row yet
    (created by a path that skipped sign-up) has an empty balance."""
    found = _BALANCE.rows(user_id=user.pk)
    return Balance(found[0].balance, found[0].lifetime, found[0].spent) if found else EMPTY_BALANCE


def _balance(*, user_id: int) -> QuerySet[Wallet]:
    return Wallet.objects.filter(user_id=user_id).only("balance", "lifetime", "spent").order_by()[:1]


_BALANCE = PreparedQuery(_balance, user_id=int)


class BalanceVersion(NamedTuple):
    balance: Balance
    etag: str


# Part of every ETag: bump it when the badge's markup changes, so no client keeps an old rendering as current.
BADGE_VERSION = "1"


def wallet_balance_version(*, user) -> BalanceVersion:
    """The balance and a strong ETag for it, in one query. The tag changes whenever the wallet row does (every
    service that moves points sets ``updated_at``), and differs between users and wallets."""
    row = (Wallet.objects.filter(user=user)
           .values_list("id", "balance", "lifetime", "spent", "updated_at").first())
    return balance_version_from_row(user=user, row=row)


def balance_version_from_row(*, user, row) -> BalanceVersion:
    """From (wallet id, balance, lifetime, spent, updated_at); a missing wallet (no row, or a row of NULLs from
    an outer join) is an empty balance."""
    if row is None or row[0] is None:
        wallet_id, balance, updated_at = 0, EMPTY_BALANCE, None
    else:
        wallet_id, balance, updated_at = row[0], Balance(*row[1:4]), row[4]
    stamp = updated_at.isoformat() if updated_at else "-"
    fingerprint = f"{BADGE_VERSION}:{user.pk}:{wallet_id}:{':'.join(map(str, balance))}:{stamp}"
    return BalanceVersion(balance, f'"{hashlib.sha256(fingerprint.encode()).hexdigest()[:32]}"')


@dataclass(frozen=True)
class HistoryPage:
    entries: list[LedgerEntry]
    next_cursor: str | None


HISTORY_PAGE_SIZE = 20


def _entries(*, user_id) -> QuerySet[LedgerEntry]:
    wallet_id = Subquery(Wallet.objects.filter(user_id=user_id).values("id")[:1])
    return LedgerEntry.objects.filter(wallet_id=wallet_id)


# The wallet page's history is read on every visit and every balance change: its SQL is prepared per process.
_HISTORY_PAGES = PreparedNewestFirst(_entries, user_id=int)


def wallet_history(*, user, cursor: str | None = None, page_size: int = HISTORY_PAGE_SIZE) -> HistoryPage:
    """A page of the shopper's entries, newest first, in one query whatever the history's length.

    Keyset pagination ("older than the last one shown") on the (wallet, -created_at, -id) index rather than
    page numbers: no COUNT, no OFFSET scanning, and an entry posted while the shopper reads is not shown twice.
    The wallet is picked by its id (a scalar subquery on the user), never through a join on the user: joined,
    PostgreSQL cannot read the index in order and scans and sorts every entry of the ledger instead."""
    page = _HISTORY_PAGES.page(cursor=cursor, page_size=page_size, user_id=user.pk)
    return HistoryPage(entries=page.rows, next_cursor=page.next_cursor)


def points_packages() -> QuerySet[PointsPackage]:
    """The packages on sale, in the order the shop shows them."""
    return PointsPackage.objects.active().order_by("sort_order", "price_cents")


@dataclass(frozen=True)
class PackageValue:
    """What a package's points are worth: the price of 100 of its points, and how much less each point costs
    than in the smallest package (fewest points) of the same currency, in whole percent, rounded down."""

    cents_per_100_points: int
    saving_percent: int
    compared_with: str


def points_packages_valued() -> list[PointsPackage]:
    """The packages on sale (``points_packages``), each with ``value``, a ``PackageValue``. Integer arithmetic."""
    packages = list(points_packages())
    smallest: dict[str, PointsPackage] = {}
    for package in packages:
        known = smallest.get(package.currency)
        if known is None or (package.points, package.price_cents) < (known.points, known.price_cents):
            smallest[package.currency] = package
    for package in packages:
        base = smallest[package.currency]
        per_hundred = (package.price_cents * 100 + package.points // 2) // package.points
        # 1 - (price / points) / (base price / base points), in whole percent, rounded down.
        denominator = package.points * base.price_cents
        saving = (100 * (denominator - package.price_cents * base.points)) // denominator
        package.value = PackageValue(cents_per_100_points=per_hundred, saving_percent=max(saving, 0),
                                     compared_with=base.name)
    return packages


def points_package_on_sale(*, package_id) -> PointsPackage | None:
    return PointsPackage.objects.active().filter(pk=package_id).first() if package_id else None


def points_purchase_session(*, user, session_id) -> CheckoutSession | None:
    """The shopper's own points package checkout session with its purchase (anyone else's, or a session that
    sells something else, is None: pages answer 404)."""
    return (CheckoutSession.objects.select_related("points_purchase", "points_purchase__package")
            .filter(pk=session_id, user=user, kind=POINTS_PACKAGE).first())


class RecoveryOutcome(StrEnum):
    """Where a shopper who opened a points package checkout continues."""

    CURRENT = "current"  # the session is fine as it is
    MOVED = "moved"  # it was renewed (another tab): continue in its successor
    RENEWABLE = "renewable"  # it ended unpaid, and paying starts a fresh copy of the same offer
    RECOVERED = "recovered"  # it had ended: a fresh copy of the same offer was made (``points_purchase_recover``)
    COMPLETED = "completed"  # it, or what replaced it, is paid
    CHANGED = "changed"  # it cannot be recovered as it was: ``package`` is what is on sale now (None: nothing)


@dataclass(frozen=True)
class Recovery:
    session: CheckoutSession
    outcome: RecoveryOutcome
    package: PointsPackage | None = None


def offer_matches(session: CheckoutSession, package: PointsPackage, *, sold: tuple | None = None) -> bool:
    """``session`` still offers exactly what ``package`` sells now (same package, price and points). ``sold``:
    its purchase's (package id, points) when the caller has read them already."""
    if session.kind != POINTS_PACKAGE:
        return False
    if sold is None:
        sold = PointsPurchase.objects.filter(checkout_session=session).values_list("package_id", "points").first()
    return (sold == (package.pk, package.points) and session.amount_cents == package.price_cents
            and session.currency == package.currency)


def points_purchase_whereabouts(*, session: CheckoutSession, now: datetime | None = None) -> Recovery:
    """Where a shopper who opened ``session`` continues, without changing anything: an ended session whose offer
    is still on sale unchanged is ``RENEWABLE`` (paying recovers it), else ``CHANGED``."""
    return recovery_from(checkout_session_whereabouts(session=session, now=now))


def recovery_from(follow: Follow) -> Recovery:
    """Checkout's answer (``Whereabouts``) in the points pages' terms: an ended session is renewable when its
    package is still on sale as it was bought."""
    if follow.whereabouts != Whereabouts.ENDED:
        return Recovery(session=follow.session, outcome=RecoveryOutcome(follow.whereabouts.value))
    ended = follow.session
    sold = PointsPurchase.objects.filter(checkout_session=ended).values_list("package_id", "points").first()
    package = points_package_on_sale(package_id=sold[0] if sold else None)
    if package is None or not offer_matches(ended, package, sold=sold):
        return Recovery(session=ended, outcome=RecoveryOutcome.CHANGED, package=package)
    return Recovery(session=ended, outcome=RecoveryOutcome.RENEWABLE, package=package)


def points_purchase_credit(*, purchase: PointsPurchase) -> LedgerEntry | None:
    """The ledger entry that credited ``purchase`` (None until it is paid)."""
    stripe_session_id = purchase.checkout_session.stripe_session_id
    if not stripe_session_id:
        return None
    return LedgerEntry.objects.filter(idempotency_key=purchase_credit_key(stripe_session_id)).first()


def points_purchase_active(*, user) -> CheckoutSession | None:
    """The shopper's active checkout session when it is for a points package."""
    return (CheckoutSession.objects.select_related("points_purchase")
            .filter(user=user, kind=POINTS_PACKAGE, status=CheckoutSession.Status.ACTIVE,
                    expires_at__gt=timezone.now()).first())


def points_purchase_changes(*, session: CheckoutSession, package: PointsPackage | None) -> list[str]:
    """What differs between the offer the shopper accepted and what is on sale now, in words."""
    if package is None:
        return [f"{session.title} is no longer on sale."]
    changes = []
    if package.name != session.title:
        changes.append(f"{session.title} is now called {package.name}.")
    if (package.price_cents, package.currency) != (session.amount_cents, session.currency):
        changes.append(f"The price changed from {format_money(session.amount_cents, session.currency)} "
                       f"to {format_money(package.price_cents, package.currency)}.")
    points = session.points_purchase.points
    if package.points != points:
        changes.append(f"It now gives {package.points:,} points instead of {points:,}.")
    return changes
