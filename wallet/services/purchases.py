"""Buying points packages: starting a checkout session for one, and recovering one whose session ended.

The session itself (one active per shopper, renewal, expiry, Stripe) is checkout's; the wallet adds its
``PointsPurchase`` row in the same transaction and decides what "the same offer" means for a package.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.services import Offer, StartResult, Whereabouts, checkout_session_follow, checkout_session_start
from wallet.models import POINTS_PACKAGE, PointsPackage, PointsPurchase

logger = logging.getLogger(__name__)


class RecoveryOutcome(StrEnum):
    CURRENT = "current"  # the session is fine as it is
    MOVED = "moved"  # it was renewed (another tab): continue in its successor
    RECOVERED = "recovered"  # it had ended: a fresh copy of the same offer was made
    COMPLETED = "completed"  # it, or what replaced it, is paid
    CHANGED = "changed"  # it cannot be recovered as it was: ``package`` is what is on sale now (None: nothing)


@dataclass(frozen=True)
class Recovery:
    """Where a shopper who opened checkout session X of a points package continues."""

    session: CheckoutSession
    outcome: RecoveryOutcome
    package: PointsPackage | None = None


def package_offer(package: PointsPackage) -> Offer:
    return Offer(kind=POINTS_PACKAGE, title=package.name, amount_cents=package.price_cents,
                 currency=package.currency, description=f"{package.points:,} points")


def offer_matches(session: CheckoutSession, package: PointsPackage) -> bool:
    """``session`` still offers exactly what ``package`` sells now (same package, price and points)."""
    if session.kind != POINTS_PACKAGE:
        return False
    purchase = PointsPurchase.objects.filter(checkout_session=session).values_list("package_id", "points").first()
    return (purchase == (package.pk, package.points) and session.amount_cents == package.price_cents
            and session.currency == package.currency)


def points_purchase_start(*, user, package: PointsPackage, renew: bool = False,
                          continues: CheckoutSession | None = None, now: datetime | None = None) -> StartResult:
    """Start buying ``package``: the shopper's active session is returned as it is when it already offers exactly
    that (a double click, a second tab, the Back button) unless ``renew``; otherwise checkout replaces it."""
    with transaction.atomic():
        result = checkout_session_start(
            user=user, offer=package_offer(package), continues=continues, now=now,
            reuse=None if renew else (lambda current: offer_matches(current, package)))
        if result.created:
            PointsPurchase.objects.create(checkout_session=result.session, package=package, points=package.points)
    return result


def points_purchase_recover(*, session_id, user, now: datetime | None = None) -> Recovery:
    """Validate the session a points checkout page is about and say where the shopper continues. Replays find
    what the first visit made: a recovered session is linked from the one it replaces, and later visits follow
    the link. Raises ``CheckoutSession.DoesNotExist`` for a session that is not the shopper's."""
    now = now or timezone.now()
    with transaction.atomic():
        follow = checkout_session_follow(session_id=session_id, user=user, now=now)
        if follow.whereabouts != Whereabouts.ENDED:
            return Recovery(session=follow.session, outcome=RecoveryOutcome(follow.whereabouts.value))
        ended = follow.session
        package_id = PointsPurchase.objects.filter(checkout_session=ended).values_list("package_id", flat=True).first()
        package = PointsPackage.objects.active().filter(pk=package_id).first() if package_id else None
        if package is None or not offer_matches(ended, package):
            return Recovery(session=ended, outcome=RecoveryOutcome.CHANGED, package=package)
        fresh = points_purchase_start(user=user, package=package, continues=ended, now=now).session
    logger.info("Checkout session %s recovered as %s", session_id, fresh.pk)
    return Recovery(session=fresh, outcome=RecoveryOutcome.RECOVERED)
