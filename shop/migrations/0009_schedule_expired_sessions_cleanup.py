from django.db import migrations

from ops.beat_schedule import add_periodic_tasks, remove_periodic_tasks

SCHEDULE = [("accounts: delete expired sessions", "shop.tasks.sessions_clear_expired", 1, "days",
             "Deletes signed-in sessions past their expiry (what manage.py clearsessions does).")]


def schedule(apps, schema_editor):
    add_periodic_tasks(apps, SCHEDULE)


def unschedule(apps, schema_editor):
    remove_periodic_tasks(apps, SCHEDULE)


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0008_sessions_in_postgresql"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
