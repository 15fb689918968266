"""The one place a checkout session's status changes row by row: checked against ``CheckoutSession.TRANSITIONS``
and written with its history row (the set-based cleanup selects by ``TRANSITIONS.sources_of`` and writes its
history rows in the same statement)."""

from datetime import datetime

from checkout.kinds import handler_for
from checkout.models import CheckoutSession, CheckoutSessionStatusChange
from ops.state_machine import IllegalTransition

NOTE_LIMIT = CheckoutSessionStatusChange._meta.get_field("note").max_length

# The name callers have always caught.
InvalidTransition = IllegalTransition


def checkout_session_move(session: CheckoutSession, target: str, *, now: datetime, note: str = "", save_also=(),
                          **changes) -> CheckoutSession:
    """Move ``session`` (locked by the caller) to ``target`` and save it with ``changes`` -- and the fields
    named in ``save_also``, already changed on the instance -- in one UPDATE, plus its history row. Refuses moves
    that ``CheckoutSession.TRANSITIONS`` does not allow, such as leaving ``completed``."""
    CheckoutSession.TRANSITIONS.check(session.status, target, what=f"checkout session {session.pk}")
    source = session.status
    session.status = target
    session.updated_at = now
    fields = {"status", "updated_at", *changes, *save_also}
    if target == CheckoutSession.Status.COMPLETED:
        session.completed_at = now
        fields.add("completed_at")
    for name, value in changes.items():
        setattr(session, name, value)
    session.save(update_fields=sorted(fields))
    CheckoutSessionStatusChange.objects.create(session=session, from_status=source, to_status=target,
                                               note=note[:NOTE_LIMIT], created_at=now)
    if target in (CheckoutSession.Status.EXPIRED, CheckoutSession.Status.INVALIDATED):
        # Whatever the seller held for the session (a card order's reserved stock) ends with it, in this
        # transaction. The set-based cleanup ends sessions without this call; the kinds' sweep catches up there.
        handler_for(session.kind).on_ended_unpaid(session=session, now=now)
    return session
