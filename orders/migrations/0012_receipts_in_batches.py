from django.conf import settings
from django.db import migrations, models

from ops.beat_schedule import periodic_tasks_operation

SCHEDULE = [("orders: send due receipts", "orders.tasks.send_due_receipts", 1, "minutes",
             "Sends the order receipts not sent yet (each payment also queues this a second after it commits).")]


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0020_check_failure_db_default"),
        ("orders", "0011_superseded_by_any_delivering_order"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(("confirmation_sent_at__isnull", True), ("status", "completed")),
                               fields=["fulfilled_at"], name="order_receipt_due_idx"),
        ),
        periodic_tasks_operation(SCHEDULE),
    ]
