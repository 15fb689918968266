"""The checkout's periodic tasks for django-celery-beat's DatabaseScheduler (Admin > Periodic tasks).

Idempotent: a task that exists already (perhaps edited or disabled by staff) is left as it is."""

from django.db import migrations
from django.utils import timezone

SCHEDULE = [
    # name, task, every, period, description
    ("checkout: mark expired sessions", "checkout.tasks.checkout_sessions_mark_expired", 15, "minutes",
     "Marks active checkout sessions past their expiry as expired (in batches)."),
    ("checkout: purge abandoned sessions", "checkout.tasks.checkout_sessions_purge", 1, "hours",
     "Deletes checkout sessions that never completed and were last updated more than 7 days ago."),
    ("checkout: reconcile with Stripe", "checkout.tasks.checkout_sessions_reconcile", 5, "minutes",
     "Asks Stripe about sessions still awaiting payment, so that a lost webhook only delays a credit."),
]


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    created = False
    for name, task, every, period, description in SCHEDULE:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval = IntervalSchedule.objects.filter(every=every, period=period).order_by("pk").first()
        if interval is None:
            interval = IntervalSchedule.objects.create(every=every, period=period)
        PeriodicTask.objects.create(name=name, task=task, interval=interval, description=description)
        created = True
    if created:
        # What the scheduler's signal would do with the real models: tell a running beat to reload.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in SCHEDULE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("checkout", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
