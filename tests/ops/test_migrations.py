"""Heartbeat and OutboxMessage moved from shop to ops without touching their tables: a database migrated before
the move keeps its rows, and what names the old tasks follows them (beat's schedules, messages waiting in the
outbox), as do the models' content types and so the permissions staff hold on them."""

import importlib
from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ops.models import Heartbeat, OutboxMessage

BEFORE_THE_MOVE = [("shop", "0005_outbox_relay_schedule"), ("ops", None)]
SCHEDULES = ["shop.heartbeat", "shop: relay queued tasks"]
schedule_heartbeat = importlib.import_module("shop.migrations.0003_heartbeat_schedule").schedule_heartbeat
schedule_relay = importlib.import_module("shop.migrations.0005_outbox_relay_schedule").schedule_relay

pytestmark = pytest.mark.django_db(transaction=True)


def migrate_back():
    """Unapply the move; returns the models as shop's migrations left them."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    return executor.loader.project_state([("shop", "0005_outbox_relay_schedule")]).apps


def migrate_forward():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


def scheduled_tasks(periodic_task_model):
    return set(periodic_task_model.objects.filter(name__in=SCHEDULES).values_list("task", flat=True))


@pytest.fixture
def before_the_move():
    old = migrate_back()
    try:
        yield old
    finally:
        migrate_forward()  # whatever happened, the next tests get a database at the latest migration


def test_a_database_migrated_before_the_move_keeps_its_rows_and_gets_the_new_names(before_the_move):
    # given a database as it was before the move: the schedules shop's migrations made (a transactional test's
    # flush may have removed them: made again, under the names they had then), a heartbeat, two waiting tasks,
    # and a staff permission on shop's Heartbeat (its content type went back to shop with the model)
    old = before_the_move
    schedule_heartbeat(old, None)
    schedule_relay(old, None)
    assert scheduled_tasks(old.get_model("django_celery_beat", "PeriodicTask")) == {
        "shop.tasks.heartbeat", "shop.tasks.outbox_relay"}
    seen_at = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)
    old.get_model("shop", "Heartbeat").objects.create(name="celery", seen_at=seen_at)
    old_outbox = old.get_model("shop", "OutboxMessage")
    relay = old_outbox.objects.create(task="shop.tasks.outbox_relay")
    email = old_outbox.objects.create(task="orders.tasks.send_order_confirmation", args=["42"], request_id="req-1")
    heartbeat_type = old.get_model("contenttypes", "ContentType").objects.get(app_label="shop", model="heartbeat")
    permission, _ = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=heartbeat_type, codename="view_heartbeat", defaults={"name": "Can view heartbeat"})

    # when the move is migrated
    migrate_forward()

    # then the rows are still there, the task names are the new ones, other tasks keep theirs
    assert Heartbeat.objects.get(name="celery").seen_at == seen_at
    assert dict(OutboxMessage.objects.values_list("pk", "task")) == {
        relay.pk: "ops.tasks.outbox_relay", email.pk: "orders.tasks.send_order_confirmation"}
    assert OutboxMessage.objects.get(pk=email.pk).args == ["42"]
    assert scheduled_tasks(PeriodicTask) == {"ops.tasks.heartbeat", "ops.tasks.outbox_relay"}
    description = PeriodicTask.objects.get(name="shop.heartbeat").description
    assert description.endswith("(Operations > Heartbeats in the admin).")
    # and the content type moved with its permission, rather than a new one leaving staff without it
    assert Permission.objects.get(pk=permission.pk).content_type == ContentType.objects.get_for_model(Heartbeat)
    assert ContentType.objects.get_for_model(Heartbeat).pk == heartbeat_type.pk


def test_the_move_migrates_back_to_the_old_names_with_the_rows():
    # given the latest state, with the schedules, a heartbeat and a waiting task
    migrate_forward()
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    for name, task in zip(SCHEDULES, ["ops.tasks.heartbeat", "ops.tasks.outbox_relay"]):
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": every_minute})
    seen_at = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    Heartbeat.objects.create(name="celery", seen_at=seen_at)
    OutboxMessage.objects.create(task="ops.tasks.heartbeat")

    # when the move is migrated back
    old = migrate_back()
    try:
        # then shop's models read the same rows, under the names shop's tasks had
        assert old.get_model("shop", "Heartbeat").objects.get(name="celery").seen_at == seen_at
        assert list(old.get_model("shop", "OutboxMessage").objects.values_list("task", flat=True)) == [
            "shop.tasks.heartbeat"]
        assert scheduled_tasks(old.get_model("django_celery_beat", "PeriodicTask")) == {
            "shop.tasks.heartbeat", "shop.tasks.outbox_relay"}
    finally:
        migrate_forward()
