"""The one place a checkout session's status changes row by row (set-based cleanup filters on the same table,
``CheckoutSession.sources_of``)."""

from datetime import datetime

from checkout.models import CheckoutSession


class InvalidTransition(Exception):
    pass


def checkout_session_move(session: CheckoutSession, target: str, *, now: datetime, save_also=(),
                          **changes) -> CheckoutSession:
    """Move ``session`` (locked by the caller) to ``target`` and save it with ``changes`` -- and the fields
    named in ``save_also``, already changed on the instance -- in one UPDATE. Refuses moves that
    ``CheckoutSession.TRANSITIONS`` does not allow, such as leaving ``completed``."""
    if not CheckoutSession.can_move(session.status, target):
        raise InvalidTransition(f"checkout session {session.pk}: {session.status} -> {target} is not allowed")
    session.status = target
    session.updated_at = now
    fields = {"status", "updated_at", *changes, *save_also}
    if target == CheckoutSession.Status.COMPLETED:
        session.completed_at = now
        fields.add("completed_at")
    for name, value in changes.items():
        setattr(session, name, value)
    session.save(update_fields=sorted(fields))
    if session.kind == CheckoutSession.Kind.CART and target in (CheckoutSession.Status.EXPIRED,
                                                                 CheckoutSession.Status.INVALIDATED):
        # A card order reserves stock while its session is active: the reservation ends with the session.
        # (Imported here: the orders app builds on checkout, not the other way round.)
        from orders.services.card import order_reservation_release

        order_reservation_release(checkout_session=session, now=now)
    return session
