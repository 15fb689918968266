"""Beat's checkout jobs (schedules: migrations 0002 and 0008, editable in admin under Periodic tasks). Thin: the
work and its safety (batches, SKIP LOCKED, idempotency keys) live in the services."""

from celery import shared_task

from checkout.services import (
    checkout_sessions_expire_due,
    checkout_sessions_purge_stale,
    checkout_sessions_reconcile_awaiting,
    checkout_sessions_sweep_kinds,
)
from checkout.services.checks import checkout_session_check_run
from checkout.services.books import BooksCheckFailed, stripe_books_check_daily
from checkout.services.disputes import dispute_alert_send
from checkout.services.refunds import refund_submit, refunds_submit_unsent


@shared_task(ignore_result=True)
def checkout_sessions_mark_expired() -> int:
    expired = checkout_sessions_expire_due()
    checkout_sessions_sweep_kinds()  # what the sellers held for the sessions that just expired (reserved stock)
    return expired


@shared_task(ignore_result=True)
def checkout_sessions_purge() -> int:
    purged = checkout_sessions_purge_stale()
    checkout_sessions_sweep_kinds()
    return purged


@shared_task(ignore_result=True)
def checkout_sessions_reconcile() -> dict:
    # Failures with single sessions are counted and retried on the next run (every few minutes) by design.
    return dict(checkout_sessions_reconcile_awaiting())


@shared_task(ignore_result=True)
def check_with_stripe(session_id: str) -> str:
    """A shopper's "check again", queued by the view (deduplicated per session): never run in a web request."""
    return checkout_session_check_run(session_id=session_id)


@shared_task(ignore_result=True)
def submit_refund(refund_id: str) -> str:
    """A refund recorded by a service, sent to Stripe after its transaction committed. If Stripe cannot be
    reached it stays requested, and ``refunds_send_unsent`` sends it again."""
    return refund_submit(refund_id=refund_id).status


@shared_task(ignore_result=True)
def refunds_send_unsent() -> int:
    return refunds_submit_unsent()


@shared_task(ignore_result=True)
def stripe_books_reconcile() -> int:
    """Daily: compare the last days' books with Stripe's (the dashboard shows the result). Returns how many
    differences, -1 when Stripe could not be asked (recorded too, and tried again tomorrow)."""
    try:
        return stripe_books_check_daily().difference_count
    except BooksCheckFailed:
        return -1
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_dispute_alert(dispute_id: str) -> bool:
    """Email staff that a dispute opened (queued after the webhook that recorded it committed; sent once)."""
    return dispute_alert_send(dispute_id=dispute_id)
