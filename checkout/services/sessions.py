"""Starting, renewing, recovering and paying checkout sessions.

Locking order, the same everywhere: the shopper's user row first (``_lock_shopper``: starts and recoveries of
one shopper take turns, so each sees what the previous one committed), then checkout session rows. Stripe is
never called while a lock is held.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.gateway import STRIPE_MIN_LIFETIME, PaymentProviderError
from checkout.models import CheckoutSession
from checkout.services.transitions import checkout_session_move
from shop.models import PointsPackage

logger = logging.getLogger(__name__)

Status = CheckoutSession.Status
START_ATTEMPTS = 3
MAX_CHAIN = 50
# Paying needs a Stripe session that lives as long as ours, and Stripe wants at least 30 minutes.
PAYABLE_MARGIN = STRIPE_MIN_LIFETIME + gateway._CLOCK_MARGIN


class SessionNotPayable(Exception):
    """The session cannot be paid as it is (it ended, or ends too soon); show its page, which recovers it."""

    def __init__(self, session: CheckoutSession):
        super().__init__(f"checkout session {session.pk} is {session.status}")
        self.session = session


@dataclass(frozen=True)
class StartResult:
    session: CheckoutSession
    created: bool
    replaced: CheckoutSession | None = None


@dataclass(frozen=True)
class Recovery:
    """Where a shopper who opened ``checkout session X`` should continue.

    outcome: "current" (X is fine), "moved" (X was renewed: continue in its successor), "recovered" (X had
    ended: a fresh copy was made), "completed" (X, or what replaced it, is paid), "changed" (X cannot be
    recovered as it was: ``package`` is what is on sale now, None when nothing is)."""

    session: CheckoutSession
    outcome: str
    package: PointsPackage | None = None


def offer_matches(session: CheckoutSession, package: PointsPackage) -> bool:
    return (session.kind == CheckoutSession.Kind.POINTS_PACKAGE and session.package_id == package.pk
            and session.amount_cents == package.price_cents and session.currency == package.currency
            and session.points == package.points)


def checkout_session_start(*, user, package: PointsPackage, renew: bool = False,
                           now: datetime | None = None) -> StartResult:
    """Start buying ``package``. When the shopper's active session already offers exactly that (a double click,
    a second tab, the Back button) it is returned as it is, unless ``renew``. Otherwise the active session is
    invalidated and replaced, in one transaction, and its Stripe session is expired after commit.

    Starts of one shopper take turns on the shopper's row lock. Should an active session appear another way
    meanwhile, the database's one-active-session constraint fails our insert; it is retried and then finds (and
    returns or replaces) the winner."""
    now = now or timezone.now()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            result = _start(user=user, package=package, renew=renew, now=now)
            break
        except IntegrityError:
            if attempt == START_ATTEMPTS:
                raise
            logger.info("Checkout start for user %s lost a race for the active session; retrying", user.pk)
    if result.replaced is not None and result.replaced.awaiting_stripe:
        transaction.on_commit(partial(_expire_stripe_session_quietly, result.replaced.pk), robust=True)
    return result


def _start(*, user, package: PointsPackage, renew: bool, now: datetime) -> StartResult:
    with transaction.atomic():
        _lock_shopper(user)
        current = CheckoutSession.objects.select_for_update().filter(user=user, status=Status.ACTIVE).first()
        if current is not None and not renew and current.expires_at > now and offer_matches(current, package):
            return StartResult(session=current, created=False)
        new_id = uuid.uuid4()
        if current is not None:
            # The link can point at the row inserted next: foreign keys are checked at commit.
            checkout_session_move(current, Status.EXPIRED if current.expires_at <= now else Status.INVALIDATED,
                                  now=now, replaced_by_id=new_id)
        session = CheckoutSession.objects.create(
            id=new_id, user=user, kind=CheckoutSession.Kind.POINTS_PACKAGE, package=package, title=package.name,
            amount_cents=package.price_cents, currency=package.currency, points=package.points,
            created_at=now, updated_at=now, expires_at=now + settings.CHECKOUT_SESSION_TTL,
        )
    logger.info("Checkout session %s started for user %s (%s)%s", session.pk, user.pk, package.name,
                f", replacing {current.pk}" if current else "")
    return StartResult(session=session, created=True, replaced=current)


def checkout_session_end_active(*, user, now: datetime) -> CheckoutSession | None:
    """End the shopper's active session (invalidated, or expired when overdue) inside the caller's transaction,
    before it starts a cart checkout. Takes the shopper's lock, like every start. Returns the ended session."""
    _lock_shopper(user)
    current = CheckoutSession.objects.select_for_update().filter(user=user, status=Status.ACTIVE).first()
    if current is not None:
        checkout_session_move(current, Status.EXPIRED if current.expires_at <= now else Status.INVALIDATED, now=now)
    return current


def checkout_session_create_for_cart(*, user, title: str, amount_cents: int, currency: str,
                                     replaces: CheckoutSession | None, now: datetime) -> CheckoutSession:
    """A checkout session paying for a cart order (the orders app made the order and holds the shopper's lock,
    having ended the previous session with ``checkout_session_end_active``)."""
    session = CheckoutSession.objects.create(
        user=user, kind=CheckoutSession.Kind.CART, title=title, amount_cents=amount_cents, currency=currency,
        points=0, created_at=now, updated_at=now, expires_at=now + settings.CHECKOUT_SESSION_TTL)
    if replaces is not None:
        replaces.replaced_by = session
        replaces.save(update_fields=["replaced_by"])
        if replaces.awaiting_stripe:
            transaction.on_commit(partial(_expire_stripe_session_quietly, replaces.pk), robust=True)
    logger.info("Checkout session %s started for user %s (%s)%s", session.pk, user.pk, title,
                f", replacing {replaces.pk}" if replaces else "")
    return session


def checkout_session_cancel(*, session_id, user, now: datetime | None = None) -> CheckoutSession:
    """The shopper gives up an active session (e.g. a card order they no longer want): it is invalidated, its
    Stripe page made unpayable after commit. Anything but an active session is returned as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_shopper(user)
        session = CheckoutSession.objects.select_for_update().get(pk=session_id, user=user)
        if session.status != Status.ACTIVE:
            return session
        checkout_session_move(session, Status.INVALIDATED, now=now)
        if session.awaiting_stripe:
            transaction.on_commit(partial(_expire_stripe_session_quietly, session.pk), robust=True)
    return session


def checkout_session_recover(*, session_id, user, now: datetime | None = None) -> Recovery:
    """Validate the session a checkout page is about and say where the shopper continues. Replays find what the
    first visit made: a recovered session is linked from the one it replaces, and later visits follow the link.
    Raises ``CheckoutSession.DoesNotExist`` for a session that is not the shopper's."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_shopper(user)
        session = CheckoutSession.objects.select_for_update(of=("self",)).select_related("package").get(
            pk=session_id, user=user)
        if session.status == Status.ACTIVE and session.expires_at > now:
            return Recovery(session=session, outcome="current")
        if session.status == Status.ACTIVE:
            checkout_session_move(session, Status.EXPIRED, now=now)
        if session.status == Status.COMPLETED:
            return Recovery(session=session, outcome="completed")
        if session.kind == CheckoutSession.Kind.CART:
            # A card order's session is not re-created here: its reservation ended with it, and the cart (kept
            # until payment) is where the shopper starts again, at current prices and stock.
            return Recovery(session=session, outcome="changed")

        latest = _latest_successor(session)
        if latest is not None:
            if latest.status == Status.ACTIVE and latest.expires_at > now:
                return Recovery(session=latest, outcome="moved")
            if latest.status == Status.COMPLETED:
                return Recovery(session=latest, outcome="completed")
        ended = latest or session

        package = PointsPackage.objects.active().filter(pk=ended.package_id).first()
        if package is None or not offer_matches(ended, package):
            return Recovery(session=ended, outcome="changed", package=package)
        fresh = checkout_session_start(user=user, package=package, now=now).session
        if ended.replaced_by_id is None and fresh.pk != ended.pk:
            CheckoutSession.objects.filter(pk=ended.pk).update(replaced_by=fresh)
    logger.info("Checkout session %s recovered as %s", session.pk, fresh.pk)
    return Recovery(session=fresh, outcome="recovered")


def _lock_shopper(user) -> None:
    """FOR NO KEY UPDATE: serialises this shopper's checkout starts without blocking inserts that reference the
    user row (those take KEY SHARE locks)."""
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True))


def _latest_successor(session: CheckoutSession) -> CheckoutSession | None:
    latest, hops = None, 0
    while session.replaced_by_id is not None and hops < MAX_CHAIN:
        session = latest = CheckoutSession.objects.select_related("package").get(pk=session.replaced_by_id)
        hops += 1
    return latest


def checkout_session_pay(*, session_id, user, base_url: str, now: datetime | None = None) -> str:
    """The URL of Stripe's payment page for the shopper's active session, creating the Stripe session on the
    first call. Repeats (a double click, a retry after an error) get the same Stripe session: its idempotency key
    is our session's id, and once stored it is simply returned.

    Raises ``SessionNotPayable`` (show the session's page: it recovers) or ``PaymentProviderError`` (show the
    message, offer a retry). Either way nothing half-made is left: a Stripe session is recorded only once
    Stripe has created it, and one made for a session that ended meanwhile is expired again."""
    now = now or timezone.now()
    session = CheckoutSession.objects.select_related("user").get(pk=session_id, user=user)
    if session.status != Status.ACTIVE or session.expires_at <= now:
        raise SessionNotPayable(session)
    if session.stripe_status == "open" and session.stripe_checkout_url:
        return session.stripe_checkout_url
    if session.stripe_status == "complete":
        raise SessionNotPayable(session)  # paid, or a bank debit in progress: its page shows which
    if session.expires_at - now < PAYABLE_MARGIN <= settings.CHECKOUT_SESSION_TTL:
        _end_early(session, now=now)  # too little time left for a Stripe session: continue in a fresh copy
        raise SessionNotPayable(session)

    if session.kind == CheckoutSession.Kind.CART:
        # Back to the order page (it follows the payment) or, when the shopper cancels, to the cart.
        result_url = base_url + reverse("orders:detail", args=[session.order.pk])
        review_url = base_url + reverse("orders:cart") + "?cancelled=1"
    else:
        result_url = base_url + reverse("checkout:result", args=[session.pk])
        review_url = base_url + reverse("checkout:review", args=[session.pk]) + "?cancelled=1"
    try:
        stripe_session = gateway.checkout_session_create(session=session, success_url=result_url,
                                                         cancel_url=review_url, now=now)
    except PaymentProviderError as error:
        if error.session_unusable:
            # Stripe refuses this session's key or parameters for good: recovery makes a fresh one.
            _end_early(session, now=now)
        raise

    with transaction.atomic():
        locked = CheckoutSession.objects.select_for_update().get(pk=session.pk)
        if locked.stripe_session_id not in (None, stripe_session.id):
            logger.error("Checkout session %s already has Stripe session %s; Stripe returned %s",
                         locked.pk, locked.stripe_session_id, stripe_session.id)
        else:
            locked.stripe_session_id = stripe_session.id
            locked.stripe_checkout_url = stripe_session.url
            locked.stripe_status = locked.stripe_status or stripe_session.status
            locked.awaiting_stripe = locked.stripe_status != "expired" and not locked.is_final
            locked.updated_at = now
            locked.save(update_fields=["stripe_session_id", "stripe_checkout_url", "stripe_status",
                                       "awaiting_stripe", "updated_at"])
    if locked.status != Status.ACTIVE or stripe_session.status != "open" or not stripe_session.url:
        # Renewed in another tab while Stripe was answering, or an old answer replayed: never send the shopper
        # to pay for it. The reconcile path settles it (expires it at Stripe, or credits it if it was paid).
        transaction.on_commit(partial(_expire_stripe_session_quietly, locked.pk), robust=True)
        raise SessionNotPayable(locked)
    return stripe_session.url


def _end_early(session: CheckoutSession, *, now: datetime) -> None:
    with transaction.atomic():
        locked = CheckoutSession.objects.select_for_update().get(pk=session.pk)
        if locked.status == Status.ACTIVE:
            checkout_session_move(locked, Status.INVALIDATED, now=now)
    session.status = locked.status


def _expire_stripe_session_quietly(session_pk) -> None:
    """Best effort, after commit: make a replaced session's Stripe page unpayable. A failure is only logged --
    the reconcile task retries it, and a payment that slips through is credited anyway."""
    from checkout.services.fulfilment import checkout_session_reconcile

    session = CheckoutSession.objects.filter(pk=session_pk).first()
    if session is None or not session.awaiting_stripe:
        return
    try:
        checkout_session_reconcile(session=session)
    except PaymentProviderError:
        logger.warning("Could not expire Stripe session %s of replaced checkout session %s; reconcile will retry",
                       session.stripe_session_id, session.pk)
