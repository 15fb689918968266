"""Heartbeat and OutboxMessage now belong to ops (ops 0001 took them over in Django's state); their tables stay
where they are and keep their rows."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0005_outbox_relay_schedule"),
        ("ops", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Heartbeat"),
                migrations.DeleteModel(name="OutboxMessage"),
            ],
            database_operations=[],
        ),
    ]
