"""Beat's account jobs (schedule: migration 0010, editable in admin under Periodic tasks)."""

from celery import shared_task

from shop.sessions import SessionStore


@shared_task(ignore_result=True)
def sessions_clear_expired() -> None:
    """Delete expired sessions (what `manage.py clearsessions` does), through the index on their expiry."""
    SessionStore.clear_expired()
