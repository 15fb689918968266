"""The beat schedule made by the data migration, and the tasks running on a real Celery worker."""

import importlib
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from checkout.models import CheckoutSession
from config.celery import app as celery_app
from tests.factories import CheckoutSessionFactory, PointsPackageFactory

SESSION_JOBS = {  # checkout 0002
    "checkout.tasks.checkout_sessions_mark_expired": (15, "minutes"),
    "checkout.tasks.checkout_sessions_purge": (1, "hours"),
    "checkout.tasks.checkout_sessions_reconcile": (5, "minutes"),
}
REFUND_JOBS = {"checkout.tasks.refunds_send_unsent": (5, "minutes")}  # checkout 0009
BOOKS_JOBS = {"checkout.tasks.stripe_books_reconcile": (1, "days")}  # checkout 0011
EXPECTED = {**SESSION_JOBS, **REFUND_JOBS, **BOOKS_JOBS}
schedule_migration = importlib.import_module("checkout.migrations.0002_beat_schedule")


def _scheduled():
    tasks = PeriodicTask.objects.filter(task__startswith="checkout.").select_related("interval")
    return {task.task: (task.interval.every, task.interval.period) for task in tasks if task.enabled}


def test_the_migration_schedules_the_cleanup_and_reconcile_tasks(db):
    assert _scheduled() == EXPECTED
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery included
    assert set(EXPECTED) <= set(celery_app.tasks)  # beat sends names the worker knows


def test_the_schedule_migration_is_idempotent_and_keeps_staff_edits(db):
    edited = PeriodicTask.objects.get(task="checkout.tasks.checkout_sessions_purge")
    edited.interval, _ = IntervalSchedule.objects.get_or_create(every=6, period="hours")
    edited.save()

    schedule_migration.schedule(apps, None)
    schedule_migration.schedule(apps, None)

    assert PeriodicTask.objects.filter(task__startswith="checkout.").count() == len(EXPECTED)
    assert _scheduled()["checkout.tasks.checkout_sessions_purge"] == (6, "hours")


def test_unscheduling_and_scheduling_again_restores_the_tasks(db):
    schedule_migration.unschedule(apps, None)
    assert _scheduled() == {**REFUND_JOBS, **BOOKS_JOBS}

    schedule_migration.schedule(apps, None)

    assert _scheduled() == EXPECTED


@pytest.mark.django_db(transaction=True)
def test_the_expiry_task_runs_on_a_real_worker():
    overdue = CheckoutSessionFactory(package=PointsPackageFactory(), created_at=timezone.now() - timedelta(days=2))

    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10):
        celery_app.send_task("checkout.tasks.checkout_sessions_mark_expired")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and CheckoutSession.objects.get(pk=overdue.pk).status == "active":
            time.sleep(0.1)

    assert CheckoutSession.objects.get(pk=overdue.pk).status == "expired"
