"""Starting, renewing, recovering and paying checkout sessions.

Locking order, the same everywhere: the shopper's user row first (``checkout_lock_shopper``: starts and
recoveries of one shopper take turns, so each sees what the previous one committed), then checkout session rows.
Stripe is never called while a lock is held.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from checkout import gateway
from checkout.gateway import STRIPE_MIN_LIFETIME, PaymentProviderError
from checkout.models import CheckoutSession, CheckoutSessionStatusChange
from checkout.selectors import Follow, checkout_session_whereabouts
from checkout.services.transitions import checkout_session_move
from ops.prepared import PreparedQuery

logger = logging.getLogger(__name__)

Status = CheckoutSession.Status
START_ATTEMPTS = 3
# Paying needs a Stripe session that lives as long as ours, and Stripe wants at least 30 minutes.
PAYABLE_MARGIN = STRIPE_MIN_LIFETIME + gateway._CLOCK_MARGIN


class SessionNotPayable(Exception):
    """The session cannot be paid as it is (it ended, or ends too soon); show its page, which recovers it."""

    def __init__(self, session: CheckoutSession):
        super().__init__(f"checkout session {session.pk} is {session.status}")
        self.session = session


class ReplaceNotConfirmed(Exception):
    """The shopper's open checkout is for another kind of purchase (a points package while they pay for a cart,
    or the reverse) and they have not said to replace it: nothing was changed. Their pages say so and offer both
    ways on: continue ``session``, or start again naming it as the one to replace."""

    def __init__(self, session: CheckoutSession):
        super().__init__(f"checkout session {session.pk} ({session.kind}) is open; replacing it was not confirmed")
        self.session = session


def _check_replacing(current: CheckoutSession | None, *, kind: str | None, replacing, now: datetime) -> None:
    """Only one checkout is active per shopper, so starting one ends the other. An active, unexpired session of
    another kind than ``kind`` ends only when ``replacing`` names it (the shopper was shown it and chose)."""
    if kind is None or current is None or current.kind == kind or current.expires_at <= now:
        return
    if str(current.pk) != str(replacing or ""):
        raise ReplaceNotConfirmed(current)


@dataclass(frozen=True)
class Offer:
    """What the shopper is asked to pay, as the selling app words it: ``kind`` names its handler."""

    kind: str
    title: str
    amount_cents: int
    currency: str
    description: str = ""


@dataclass(frozen=True)
class StartResult:
    session: CheckoutSession
    created: bool
    replaced: CheckoutSession | None = None


def checkout_session_start(*, user, offer: Offer, reuse: Callable[[CheckoutSession], bool] | None = None,
                           continues: CheckoutSession | None = None, now: datetime | None = None,
                           confirm_other_kind: bool = False, replacing=None) -> StartResult:
    """Start paying for ``offer``. When ``reuse`` says the shopper's active session already offers the same (a
    double click, a second tab, the Back button) it is returned as it is. Otherwise the active session is ended
    (invalidated, or expired when overdue: its kind's ``on_ended_unpaid`` runs) and replaced, in one transaction,
    and its Stripe session is expired after commit. ``continues``: an ended session this one recovers, linked to
    it so that later visits of the old one follow the link.

    Call it inside the transaction in which the selling app records its own rows for the new session. Starts of
    one shopper take turns on the shopper's row lock. Should an active session appear another way meanwhile, the
    database's one-active-session constraint fails our insert; it is retried (in a savepoint) and then finds,
    and returns or replaces, the winner.

    ``confirm_other_kind``: an active session of another kind is replaced only when ``replacing`` is its id;
    otherwise ``ReplaceNotConfirmed`` is raised and nothing changes."""
    now = now or timezone.now()
    confirm_kind = offer.kind if confirm_other_kind else None
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            result = _start(user=user, offer=offer, reuse=reuse, continues=continues, now=now,
                            confirm_kind=confirm_kind, replacing=replacing)
            break
        except IntegrityError:
            if attempt == START_ATTEMPTS:
                raise
            logger.info("Checkout start for user %s lost a race for the active session; retrying", user.pk)
    if result.replaced is not None and result.replaced.awaiting_stripe:
        transaction.on_commit(partial(_expire_stripe_session_quietly, result.replaced.pk), robust=True)
    return result


def _start(*, user, offer: Offer, reuse, continues: CheckoutSession | None, now: datetime,
           confirm_kind: str | None = None, replacing=None) -> StartResult:
    with transaction.atomic():
        checkout_lock_shopper(user)
        current = _active_session_locked(user)
        _check_replacing(current, kind=confirm_kind, replacing=replacing, now=now)
        if current is not None and reuse is not None and current.expires_at > now and reuse(current):
            _link_successor(continues, current)
            return StartResult(session=current, created=False)
        new_id = uuid.uuid4()
        if current is not None:
            # The link can point at the row inserted next: foreign keys are checked at commit.
            checkout_session_move(current, Status.EXPIRED if current.expires_at <= now else Status.INVALIDATED,
                                  now=now, replaced_by_id=new_id, note=f"replaced by {offer.title} ({new_id})")
        session = CheckoutSession.objects.create(
            id=new_id, user=user, kind=offer.kind, title=offer.title, description=offer.description,
            amount_cents=offer.amount_cents, currency=offer.currency,
            created_at=now, updated_at=now, expires_at=now + settings.CHECKOUT_SESSION_TTL,
        )
        CheckoutSessionStatusChange.objects.create(session=session, from_status="", to_status=Status.ACTIVE,
                                                   note="started", created_at=now)
        _link_successor(continues, session)
    logger.info("Checkout session %s started for user %s (%s)%s", session.pk, user.pk, offer.title,
                f", replacing {current.pk}" if current else "")
    return StartResult(session=session, created=True, replaced=current)


def _link_successor(ended: CheckoutSession | None, successor: CheckoutSession) -> None:
    if ended is not None and ended.replaced_by_id is None and ended.pk != successor.pk:
        CheckoutSession.objects.filter(pk=ended.pk).update(replaced_by=successor)
        ended.replaced_by = successor


def checkout_session_end_active(*, user, kind: str | None = None, now: datetime | None = None,
                                confirm_other_than: str | None = None, replacing=None,
                                shopper_locked: bool = False) -> CheckoutSession | None:
    """End the shopper's active session (invalidated, or expired when overdue; its kind releases what it held)
    inside the caller's transaction, before the caller prepares what the next one sells; pass the result to
    ``checkout_session_start(continues=...)``. Its Stripe page is made unpayable after commit. With ``kind``,
    only a session of that kind is ended (what the shopper is buying another way). With ``confirm_other_than``
    (the kind the caller starts next), a session of another kind ends only when ``replacing`` is its id;
    otherwise ``ReplaceNotConfirmed`` is raised and nothing changes. ``shopper_locked``: the caller took
    ``checkout_lock_shopper`` in this transaction already (a second lock would only cost a round trip)."""
    now = now or timezone.now()
    if not shopper_locked:
        checkout_lock_shopper(user)
    current = _active_session_locked(user)
    _check_replacing(current, kind=confirm_other_than, replacing=replacing, now=now)
    if current is None or (kind is not None and current.kind != kind):
        return None
    checkout_session_move(current, Status.EXPIRED if current.expires_at <= now else Status.INVALIDATED, now=now,
                          note="ended for the shopper's next checkout")
    if current.awaiting_stripe:
        transaction.on_commit(partial(_expire_stripe_session_quietly, current.pk), robust=True)
    return current


def checkout_session_cancel(*, session_id, user, now: datetime | None = None,
                            note: str = "cancelled by the shopper") -> CheckoutSession:
    """The shopper gives up an active session (e.g. a card order they no longer want), or Stripe failed to open
    its payment page (``note`` says which): it is invalidated, its kind releases what it held, its Stripe page is
    made unpayable after commit. Anything but an active session is returned as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        checkout_lock_shopper(user)
        session = CheckoutSession.objects.select_for_update().get(pk=session_id, user=user)
        if session.status != Status.ACTIVE:
            return session
        checkout_session_move(session, Status.INVALIDATED, now=now, note=note)
        if session.awaiting_stripe:
            transaction.on_commit(partial(_expire_stripe_session_quietly, session.pk), robust=True)
    return session


def checkout_session_follow(*, session_id, user, now: datetime | None = None) -> Follow:
    """``checkout_session_whereabouts`` under the shopper's lock, for a caller about to act on the answer (recover
    an ended session): an active session found overdue is marked expired on the way. Raises
    ``CheckoutSession.DoesNotExist`` for a session that is not the shopper's."""
    now = now or timezone.now()
    with transaction.atomic():
        checkout_lock_shopper(user)
        session = CheckoutSession.objects.select_for_update(of=("self",)).get(pk=session_id, user=user)
        if session.status == Status.ACTIVE and session.expires_at <= now:
            checkout_session_move(session, Status.EXPIRED, now=now, note="overdue")
        return checkout_session_whereabouts(session=session, now=now)


def checkout_lock_shopper(user) -> None:
    """Lock the shopper's user row until the caller's transaction ends: the first lock of every checkout change
    (and of what the apps selling through checkout decide for one shopper). FOR NO KEY UPDATE: serialises this
    shopper's checkout starts without blocking inserts that reference the user row (those take KEY SHARE
    locks)."""
    _SHOPPER_ROW_LOCKED.rows(user_id=user.pk)


def _shopper_row_locked(*, user_id: int):
    return get_user_model().objects.select_for_update(no_key=True).filter(pk=user_id).only("pk").order_by()


def _active_session_locked(user) -> CheckoutSession | None:
    """The shopper's active session, locked (one at most: the database's unique partial index)."""
    found = _ACTIVE_SESSION_LOCKED.rows(user_id=user.pk)
    return found[0] if found else None


def _active_session(*, user_id: int):
    return CheckoutSession.objects.select_for_update().filter(user_id=user_id, status=Status.ACTIVE).order_by()[:1]


# Every checkout change and points payment runs these two: built once per process, run prepared.
_SHOPPER_ROW_LOCKED = PreparedQuery(_shopper_row_locked, user_id=int)
_ACTIVE_SESSION_LOCKED = PreparedQuery(_active_session, user_id=int)


def checkout_session_pay(*, session_id, user, success_url: str, cancel_url: str,
                         now: datetime | None = None) -> str:
    """The URL of Stripe's payment page for the shopper's active session, creating the Stripe session on the
    first call; Stripe sends the shopper back to ``success_url`` after paying and to ``cancel_url`` when they
    give up. Repeats (a double click, a retry after an error) get the same Stripe session: its idempotency key
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
        # Too little time left for a Stripe session: continue in a fresh copy.
        _end_early(session, now=now, note="too little time left to pay at Stripe")
        raise SessionNotPayable(session)

    try:
        stripe_session = gateway.checkout_session_create(session=session, success_url=success_url,
                                                         cancel_url=cancel_url, now=now)
    except PaymentProviderError as error:
        if error.session_unusable:
            # Stripe refuses this session's key or parameters for good: recovery makes a fresh one.
            _end_early(session, now=now, note=f"Stripe refused its session: {error.provider_message}")
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


def _end_early(session: CheckoutSession, *, now: datetime, note: str) -> None:
    with transaction.atomic():
        locked = CheckoutSession.objects.select_for_update().get(pk=session.pk)
        if locked.status == Status.ACTIVE:
            checkout_session_move(locked, Status.INVALIDATED, now=now, note=note)
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
