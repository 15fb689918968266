from django.db import migrations

HEARTBEAT_TASK = "shop.heartbeat"


def schedule_heartbeat(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=HEARTBEAT_TASK,
        defaults={"task": "shop.tasks.heartbeat", "interval": every_minute,
                  "description": "Records that beat and a worker are alive (Shop > Heartbeats in the admin)."},
    )


def unschedule_heartbeat(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=HEARTBEAT_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0002_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_heartbeat, unschedule_heartbeat)]
