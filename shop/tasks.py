"""Beat's account jobs (schedule: migration 0010, editable in admin under Periodic tasks), and account mail."""

from celery import shared_task

from shop import notifications
from shop.sessions import SessionStore


@shared_task(ignore_result=True)
def sessions_clear_expired() -> None:
    """Delete expired sessions (what `manage.py clearsessions` does), through the index on their expiry."""
    SessionStore.clear_expired()


# Mail is retried while the mail server cannot be reached (OSError: refused, timed out, SMTP errors).
MAIL_RETRIES = {"autoretry_for": (OSError,), "retry_backoff": True, "max_retries": 8, "ignore_result": True}


@shared_task(**MAIL_RETRIES)
def send_password_reset(email: str) -> None:
    notifications.password_reset_send(email=email)


@shared_task(**MAIL_RETRIES)
def send_email_change_confirmation(user_id: int, new_email: str) -> None:
    notifications.email_change_send_confirmation(user_id=user_id, new_email=new_email)


@shared_task(**MAIL_RETRIES)
def send_email_changed_notice(user_id: int, old_email: str, new_email: str) -> None:
    notifications.email_change_send_notice(user_id=user_id, old_email=old_email, new_email=new_email)
