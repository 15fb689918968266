from celery import shared_task

from ops.services import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat():
    heartbeat_record(name="celery")


@shared_task(ignore_result=True)
def outbox_relay() -> dict:
    from ops.outbox import outbox_relay as relay

    return relay()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def email_staff(subject: str, message: str) -> int:
    from ops.alerts import staff_email_send

    return staff_email_send(subject=subject, message=message)
