"""The checkout's periodic tasks for django-celery-beat's DatabaseScheduler (Admin > Periodic tasks).

Idempotent: a task that exists already (perhaps edited or disabled by staff) is left as it is."""

from django.db import migrations

from ops.beat_schedule import add_periodic_tasks, remove_periodic_tasks

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
    add_periodic_tasks(apps, SCHEDULE)


def unschedule(apps, schema_editor):
    remove_periodic_tasks(apps, SCHEDULE)


class Migration(migrations.Migration):
    dependencies = [
        ("checkout", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
