"""Queueing Celery tasks so that a broker outage delays them instead of losing them.

Every task of the shop's Celery app is a ``ReliableTask`` (config/celery.py). Its ``apply_async`` (and so
``delay``) publishes as usual; if the broker cannot be reached (Redis down, after kombu's own publish retries) the
task is written to the ``OutboxMessage`` table instead, logged at ERROR, and ``ops.tasks.outbox_relay`` -- run
by beat every 30 seconds -- publishes it once the broker answers again, oldest first, backing off between tries.

Why not a full transactional outbox (every task written to the table inside the business transaction and only
published by the relay)? The services already queue their tasks with ``transaction.on_commit``, so a task is
never published for a transaction that rolled back; what was missing was the failure after the commit, and this
covers it for every existing and future task without touching the services, and without a table write and a
relay delay on the path of every healthy request. What it does not cover is the web process dying in the instant
between the commit and the publish: for payments the periodic reconciliation with Stripe is the safety net, for
order receipts beat's ``send_due_receipts``.

Delivery is at least once (a relay that published and then failed to delete its row publishes again): the
shop's tasks are idempotent. Beat's own periodic sends are not kept (the next tick sends them again anyway).
"""

import logging
from datetime import timedelta

from celery import Task, current_app
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

PUBLISH_ERRORS = (BrokerUnavailable, ConnectionError, TimeoutError, OSError)
MAX_BACKOFF = timedelta(minutes=10)
RELAY_BATCH = 200
_keep_failed_publishes = True


def _stop_keeping_failed_publishes(**kwargs):
    global _keep_failed_publishes
    _keep_failed_publishes = False


class ReliableTask(Task):
    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None,
                    shadow=None, **options):
        if self.app.conf.task_always_eager or not _keep_failed_publishes:
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        try:
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        except PUBLISH_ERRORS as error:
            outbox_keep(task=self.name, args=list(args or ()), kwargs=dict(kwargs or {}), error=error)
            return None


def outbox_keep(*, task: str, args: list, kwargs: dict, error: Exception) -> None:
    from ops.logs import request_id_var
    from ops.models import OutboxMessage

    try:
        message = OutboxMessage.objects.create(task=task, args=args, kwargs=kwargs, request_id=request_id_var.get(),
                                               last_error=_describe(error))
    except DatabaseError:
        logger.exception("task_queue_lost task=%s args=%s kwargs=%s: the broker and the database both failed",
                         task, args, kwargs)
        return
    logger.error("task_queue_failed task=%s outbox_id=%s error=%s: kept in the outbox, relayed when the broker "
                 "answers", task, message.pk, _describe(error))


def outbox_relay(*, batch: int = RELAY_BATCH) -> dict:
    """Publish due outbox messages, oldest first; stop at the first broker failure (the rest wait with it).
    Rows are locked with SKIP LOCKED, so two relays never publish the same message at once."""
    from ops.models import OutboxMessage

    sent = failed = 0
    now = timezone.now()
    with transaction.atomic():
        due = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                   .filter(next_attempt_at__lte=now).order_by("id")[:batch])
        for message in due:
            try:
                current_app.send_task(message.task, args=message.args, kwargs=message.kwargs,
                                      headers={"shop_request_id": message.request_id} if message.request_id else None)
            except PUBLISH_ERRORS as error:
                failed = len(due) - sent
                _postpone(message, error, now)
                logger.warning("outbox_relay_failed sent=%s waiting=%s error=%s", sent, failed, _describe(error))
                break
            message.delete()
            sent += 1
    if sent:
        logger.info("outbox_relayed sent=%s", sent)
    return {"sent": sent, "waiting": failed}


def _postpone(message, error: Exception, now) -> None:
    delay = min(timedelta(seconds=15 * 2 ** min(message.attempts, 10)), MAX_BACKOFF)
    message.attempts += 1
    message.last_error = _describe(error)
    message.next_attempt_at = now + delay
    message.save(update_fields=["attempts", "last_error", "next_attempt_at"])


def _describe(error: Exception) -> str:
    return f"{error.__class__.__name__}: {error}"[:300]


def connect_beat_signal() -> None:
    from celery.signals import beat_init

    beat_init.connect(_stop_keeping_failed_publishes, weak=False)
