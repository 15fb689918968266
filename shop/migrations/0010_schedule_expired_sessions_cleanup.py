from django.db import migrations

from ops.beat_schedule import periodic_tasks_operation

SCHEDULE = [("accounts: delete expired sessions", "shop.tasks.sessions_clear_expired", 1, "days",
             "Deletes signed-in sessions past their expiry (what manage.py clearsessions does).")]


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0009_product_preview_storage"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [periodic_tasks_operation(SCHEDULE)]
