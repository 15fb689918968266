"""What else moved with the heartbeat and the outbox: their tasks are now ``ops.tasks.*``, so beat's schedules
and the messages waiting in the outbox are pointed at the new names (a worker knows only those), and the models'
content types follow them to ops, which keeps staff permissions on them and the admin's history."""

from django.db import migrations
from django.utils import timezone

RENAMED_TASKS = {
    "shop.tasks.heartbeat": "ops.tasks.heartbeat",
    "shop.tasks.outbox_relay": "ops.tasks.outbox_relay",
}
RENAMED_DESCRIPTIONS = {
    "Records that beat and a worker are alive (Shop > Heartbeats in the admin).":
        "Records that beat and a worker are alive (Operations > Heartbeats in the admin).",
}
MOVED_MODELS = ["heartbeat", "outboxmessage"]


def _rename_tasks(apps, tasks, descriptions):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    OutboxMessage = apps.get_model("ops", "OutboxMessage")
    renamed = 0
    for old, new in tasks.items():
        renamed += PeriodicTask.objects.filter(task=old).update(task=new)
        OutboxMessage.objects.filter(task=old).update(task=new)
    for old, new in descriptions.items():
        PeriodicTask.objects.filter(description=old).update(description=new)
    if renamed:
        # A bulk update sends no signal: this is how a running beat (DatabaseScheduler) learns to reload.
        apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()})


def _move_content_types(apps, from_label, to_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED_MODELS:
        if not ContentType.objects.filter(app_label=to_label, model=model).exists():
            ContentType.objects.filter(app_label=from_label, model=model).update(app_label=to_label)


def forwards(apps, schema_editor):
    _rename_tasks(apps, RENAMED_TASKS, RENAMED_DESCRIPTIONS)
    _move_content_types(apps, "shop", "ops")


def backwards(apps, schema_editor):
    _rename_tasks(apps, {new: old for old, new in RENAMED_TASKS.items()},
                  {new: old for old, new in RENAMED_DESCRIPTIONS.items()})
    _move_content_types(apps, "ops", "shop")


class Migration(migrations.Migration):

    dependencies = [
        ("ops", "0001_initial"),
        ("shop", "0006_heartbeat_outbox_to_ops"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
