"""The one place a checkout session's status changes row by row (set-based cleanup filters on the same table,
``CheckoutSession.sources_of``)."""

from datetime import datetime

from checkout.kinds import handler_for
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
    if target in (CheckoutSession.Status.EXPIRED, CheckoutSession.Status.INVALIDATED):
        # Whatever the seller held for the session (a card order's reserved stock) ends with it, in this
        # transaction. The set-based cleanup ends sessions without this call; the kinds' sweep catches up there.
        handler_for(session.kind).on_ended_unpaid(session=session, now=now)
    return session
