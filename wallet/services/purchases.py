"""Buying points packages: starting a checkout session for one, and recovering one whose session ended.

The session itself (one active per shopper, renewal, expiry, Stripe) is checkout's; the wallet adds its
``PointsPurchase`` row in the same transaction and decides what "the same offer" means for a package.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.services import Offer, StartResult, checkout_session_follow, checkout_session_start
from wallet.models import POINTS_PACKAGE, PointsPackage, PointsPurchase
from wallet.selectors import Recovery, RecoveryOutcome, offer_matches, recovery_from

logger = logging.getLogger(__name__)


def package_offer(package: PointsPackage) -> Offer:
    return Offer(kind=POINTS_PACKAGE, title=package.name, amount_cents=package.price_cents,
                 currency=package.currency, description=f"{package.points:,} points")


def points_purchase_start(*, user, package: PointsPackage, renew: bool = False,
                          continues: CheckoutSession | None = None, now: datetime | None = None,
                          confirm_other_kind: bool = False, replacing=None) -> StartResult:
    """Start buying ``package``: the shopper's active session is returned as it is when it already offers exactly
    that (a double click, a second tab, the Back button) unless ``renew``; otherwise checkout replaces it.
    ``confirm_other_kind``: an open checkout of another kind (a card payment for a cart) is replaced only when
    ``replacing`` names it; otherwise checkout's ``ReplaceNotConfirmed`` is raised and nothing changes."""
    with transaction.atomic():
        result = checkout_session_start(
            user=user, offer=package_offer(package), continues=continues, now=now,
            confirm_other_kind=confirm_other_kind, replacing=replacing,
            reuse=None if renew else (lambda current: offer_matches(current, package)))
        if result.created:
            PointsPurchase.objects.create(checkout_session=result.session, package=package, points=package.points)
    return result


def points_purchase_recover(*, session_id, user, now: datetime | None = None, replacing=None) -> Recovery:
    """Act on where the session leads (``recovery_from``), for a shopper about to pay: a ``RENEWABLE`` session is recovered
    as a fresh copy of the same offer (``RECOVERED``). Replays find what the first call made: the fresh session
    is linked from the one it replaces, and later calls follow the link. Raises ``CheckoutSession.DoesNotExist``
    for a session that is not the shopper's.

    A fresh copy would end the shopper's open checkout of another kind (a card payment started since this one
    ended): that happens only when ``replacing`` names it, otherwise ``ReplaceNotConfirmed`` is raised and
    nothing changes."""
    now = now or timezone.now()
    with transaction.atomic():
        found = recovery_from(checkout_session_follow(session_id=session_id, user=user, now=now))
        if found.outcome != RecoveryOutcome.RENEWABLE:
            return found
        fresh = points_purchase_start(user=user, package=found.package, continues=found.session, now=now,
                                      confirm_other_kind=True, replacing=replacing).session
    logger.info("Checkout session %s recovered as %s", session_id, fresh.pk)
    return Recovery(session=fresh, outcome=RecoveryOutcome.RECOVERED)
