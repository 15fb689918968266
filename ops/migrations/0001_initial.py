"""Heartbeat and OutboxMessage move here from shop with their tables (shop_heartbeat, shop_outboxmessage): this
only tells Django's state that ops owns them; the database is not touched. shop's 0006 then drops them from
shop's state, after this one, so a database migrated before the move and a fresh one end the same."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("shop", "0005_outbox_relay_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Heartbeat",
                    fields=[
                        ("name", models.CharField(max_length=50, primary_key=True, serialize=False)),
                        ("seen_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "shop_heartbeat",
                    },
                ),
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("task", models.CharField(max_length=200)),
                        ("args", models.JSONField(default=list)),
                        ("kwargs", models.JSONField(default=dict)),
                        ("request_id", models.CharField(blank=True, help_text="The request that queued it (logs).",
                                                        max_length=64)),
                        ("attempts", models.PositiveIntegerField(default=1)),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "shop_outboxmessage",
                        "ordering": ["id"],
                        "indexes": [models.Index(fields=["next_attempt_at"], name="outbox_due_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
