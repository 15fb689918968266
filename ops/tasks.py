from celery import shared_task

from ops.services import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat():
    heartbeat_record(name="celery")


@shared_task(ignore_result=True)
def outbox_relay() -> dict:
    from ops.outbox import outbox_relay as relay

    return relay()
