from django.db import migrations
from django.utils import timezone

RELAY_TASK = "shop: relay queued tasks"


def schedule_relay(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every = IntervalSchedule.objects.filter(every=30, period="seconds").order_by("pk").first() \
        or IntervalSchedule.objects.create(every=30, period="seconds")
    _, created = PeriodicTask.objects.get_or_create(
        name=RELAY_TASK,
        defaults={"task": "shop.tasks.outbox_relay", "interval": every,
                  "description": "Publishes tasks that were kept in the outbox while the broker was unreachable."},
    )
    if created:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unschedule_relay(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=RELAY_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0004_outbox_message"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_relay, unschedule_relay)]
