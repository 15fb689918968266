"""The heartbeat and the outbox relay as beat schedules them: under names the worker knows, doing their work."""

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from ops.models import Heartbeat, OutboxMessage
from ops.tasks import heartbeat, outbox_relay

SCHEDULED = {"shop.heartbeat": ("ops.tasks.heartbeat", 60), "shop: relay queued tasks": ("ops.tasks.outbox_relay", 30)}


def test_beat_schedules_the_ops_tasks_under_names_the_worker_knows(db):
    schedules = PeriodicTask.objects.filter(name__in=SCHEDULED).select_related("interval")

    assert {task.name: (task.task, task.interval.every) for task in schedules} == SCHEDULED
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery included
    assert {task for task, _ in SCHEDULED.values()} <= set(celery_app.tasks)


def test_the_heartbeat_records_that_a_worker_ran_it(db):
    before = timezone.now()

    heartbeat.apply()

    assert Heartbeat.objects.get(name="celery").seen_at >= before


def test_the_relay_leaves_messages_that_are_not_due_yet(db):
    OutboxMessage.objects.create(task="orders.tasks.send_order_confirmation",
                                 next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert outbox_relay.apply().get() == {"sent": 0, "waiting": 0}
    assert OutboxMessage.objects.count() == 1
