"""Adding periodic tasks to django-celery-beat's DatabaseScheduler from data migrations (Admin > Periodic tasks).

Idempotent: a task that exists already (perhaps edited or disabled by staff) is left as it is. Works on the
historical models a migration passes in, so it stays valid whatever the real models become."""

from django.utils import timezone


def add_periodic_tasks(apps, schedule) -> None:
    """``schedule``: (name, task, every, period, description) tuples, e.g. ("x", "app.tasks.x", 1, "days", "...")."""
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    created = False
    for name, task, every, period, description in schedule:
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


def remove_periodic_tasks(apps, schedule) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in schedule]).delete()


def periodic_tasks_operation(schedule):
    """The migration operation that adds ``schedule``'s tasks (and removes them when migrating back)."""
    from django.db import migrations

    return migrations.RunPython(lambda apps, schema_editor: add_periodic_tasks(apps, schedule),
                                lambda apps, schema_editor: remove_periodic_tasks(apps, schedule))
