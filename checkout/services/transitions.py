"""The one place a checkout session's status changes row by row: checked against ``CheckoutSession.TRANSITIONS``
and written with its history row (the set-based cleanup selects by ``TRANSITIONS.sources_of`` and writes its
history rows in the same statement)."""

from datetime import datetime

from django.db import connection

from checkout.kinds import handler_for
from checkout.models import CheckoutSession, CheckoutSessionStatusChange

NOTE_LIMIT = CheckoutSessionStatusChange._meta.get_field("note").max_length


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
    _save_with_history(session, sorted(fields), source=source, note=note[:NOTE_LIMIT], now=now)
    if target in (CheckoutSession.Status.EXPIRED, CheckoutSession.Status.INVALIDATED):
        # Whatever the seller held for the session (a card order's reserved stock) ends with it, in this
        # transaction. The set-based cleanup ends sessions without this call; the kinds' sweep catches up there.
        handler_for(session.kind).on_ended_unpaid(session=session, now=now)
    return session


_TABLE = CheckoutSession._meta.db_table
_HISTORY = CheckoutSessionStatusChange._meta.db_table


def _save_with_history(session: CheckoutSession, fields: list[str], *, source: str, note: str,
                       now: datetime) -> None:
    """The UPDATE and the history row's INSERT: on PostgreSQL one statement (a round trip fewer on the paths a
    payment takes), elsewhere two."""
    if connection.vendor != "postgresql":
        session.save(update_fields=fields)
        CheckoutSessionStatusChange.objects.create(session=session, from_status=source, to_status=session.status,
                                                   note=note, created_at=now)
        return
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name in fields:
        field = CheckoutSession._meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(getattr(session, field.attname), connection))
    sql = (f"WITH moved AS (UPDATE {_TABLE} SET {', '.join(assignments)} WHERE id = %s RETURNING id) "
           f"INSERT INTO {_HISTORY} (session_id, from_status, to_status, note, created_at) "
           f"SELECT id, %s, %s, %s, %s FROM moved")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, session.pk, source, session.status, note,
                             connection.ops.adapt_datetimefield_value(now)])
