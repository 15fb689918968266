"""What is sold through a checkout session is not checkout's business: each app that sells registers a handler for
its kind of session (``wallet``: points packages; ``orders``: carts) from its ``AppConfig.ready``.

Checkout calls the handler inside the transaction that changes the session, with the session row locked, so the
seller's own rows move together with the payment or not at all:

* ``on_paid``          the payment arrived (once per session: the session is then completed);
* ``on_ended_unpaid``  the session expired or was invalidated without a payment (row by row; see ``sweep``);
* ``on_refund_requested``  staff refund the whole payment (``checkout_session_refund``): take back what was
                       sold, or raise ``RefundRefused`` and nothing happens; kinds refunded elsewhere (an order's
                       own refund page) say where in ``refund_elsewhere``;
* ``on_refunded``      Stripe accepted a refund of the session's payment (pending or succeeded), or one made in
                       Stripe's Dashboard was recorded (``RefundProgress``): bring what was sold in line;
* ``on_refund_failed``  a refund failed or was canceled -- refused at once, or failed after it had succeeded (the
                       bank returned it): undo what it took back;
* ``on_dispute_opened``  the cardholder disputes the session's payment (``checkout.models.Dispute``): suspend
                       or hold back what was sold until Stripe decides (once per dispute);
* ``on_dispute_closed``  Stripe decided: ``won`` gives back what was held, otherwise the loss is final (once
                       per dispute, always after ``on_dispute_opened``, whatever order Stripe's events came in);
* ``sweep``            periodic, after the set-based cleanup ended or deleted sessions without calling
                       ``on_ended_unpaid`` row by row.

A new kind of purchase is a new handler registered by its app; checkout does not change.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Payment:
    """The money Stripe received for a session, as far as the seller needs to know."""

    stripe_session_id: str
    payment_intent_id: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class RefundProgress:
    """A refund of a session's payment moved forward: ``refund`` (a ``checkout.models.Refund``) is now pending or
    succeeded at Stripe. ``refunded_cents`` is what Stripe has accepted to refund of the payment in all (its pending
    and succeeded refunds, the session's ``stripe_refunded_cents``), and ``increased`` whether that went up now
    (a pending refund that succeeded changes nothing). ``made_in_stripe``: nobody in the shop asked for it (Stripe's
    Dashboard), so nothing was taken back yet -- the kind takes back what it can now, like a staff refund."""

    refunded_cents: int
    refund: object = None
    increased: bool = False
    made_in_stripe: bool = False


@dataclass(frozen=True)
class BooksDifference:
    """One way the shop's books and Stripe's disagree, found by ``stripe_reconcile``: ``code`` says which way
    (``paid_not_credited``...), ``summary`` says it to staff in a sentence."""

    code: str
    summary: str
    stripe_id: str = ""
    checkout_session_id: str = ""
    amount_cents: int = 0
    currency: str = ""


class SessionKind:
    """Base class of the handlers: every hook does nothing until a kind says otherwise. ``name`` is stored in
    ``CheckoutSession.kind``."""

    name = ""
    # Where staff refund sessions of this kind instead, when not through checkout's refund page; None when there.
    refund_elsewhere: str | None = "Purchases of this kind are refunded where they were sold."
    # The seller's one-to-one rows (reverse relation names) that checkout loads with the session it locks for a
    # payment, so that ``on_paid`` finds them without another round trip.
    load_with: tuple[str, ...] = ()

    def on_paid(self, *, session, payment: Payment, now: datetime) -> str:
        """Fulfil what ``session`` sold; return a few words for the logs and the webhook's record."""
        raise NotImplementedError

    def on_ended_unpaid(self, *, session, now: datetime) -> None:
        pass

    def on_refund_requested(self, *, session, refund, staff_user, now: datetime) -> str:
        """Take back what ``session`` sold, in the transaction that records ``refund`` (before Stripe is asked).
        Raise ``RefundRefused`` to refuse: nothing is recorded then. Returns a few words for the log."""
        raise NotImplementedError

    def on_refund_failed(self, *, session, refund, now: datetime) -> str:
        """``refund`` failed or was canceled (``refund.status``), maybe after it had succeeded: nothing of it is
        refunded, and ``session.stripe_refunded_cents`` no longer counts it. Give back what it took back. Returns a
        few words for the log."""
        return "nothing to give back"

    def on_refunded(self, *, session, progress: RefundProgress, now: datetime) -> str:
        return "refund noted"

    def refund_url(self, session) -> str | None:
        """The staff page where ``session``'s purchase is refunded, for links from checkout's admin."""
        return None

    def on_dispute_opened(self, *, session, dispute, now: datetime) -> str:
        """The payment of ``session`` is disputed (``dispute`` is saved; its status may already be a closed one,
        then ``on_dispute_closed`` follows at once). Returns a few words for staff: what was suspended or held."""
        return "nothing held"

    def on_dispute_closed(self, *, session, dispute, won: bool, now: datetime) -> str:
        """Stripe closed ``dispute``: ``won`` (the payment stands) gives back exactly what ``on_dispute_opened``
        held; lost makes it final. Returns a few words for staff."""
        return "nothing to settle"

    def staff_url(self, session) -> str | None:
        """The staff page of what ``session`` sold (an order, a points purchase), for links from checkout's
        admin and dashboard."""
        return None

    def shopper_url(self, session) -> str | None:
        """The shopper's page where an open ``session`` of this kind continues (its review, its order), for the
        pages that ask whether to replace it with a checkout of another kind."""
        return None

    def sweep(self, *, now: datetime) -> int:
        return 0

    def books_differences(self, *, since: datetime, until: datetime) -> list[BooksDifference]:
        """What this kind delivered in [since, until) without a paid session behind it (points credited, an
        order completed): checkout compares its sessions with Stripe, each kind its deliveries with the
        sessions."""
        return []


class UnknownSessionKind(LookupError):
    """A session of a kind no installed app handles: a deployment error, never silently skipped."""


_KINDS: dict[str, SessionKind] = {}


def register(kind: SessionKind) -> SessionKind:
    """Called from the selling app's ``AppConfig.ready``. Registering the same name twice (a second ``ready`` in
    tests) replaces the handler."""
    if not kind.name:
        raise ValueError(f"{type(kind).__name__} has no name")
    _KINDS[kind.name] = kind
    return kind


def handler_for(name: str) -> SessionKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownSessionKind(f"no installed app handles checkout sessions of kind {name!r}") from None


def registered() -> list[SessionKind]:
    return list(_KINDS.values())


def rows_loaded_with_sessions() -> list[str]:
    return sorted({name for kind in _KINDS.values() for name in kind.load_with})
