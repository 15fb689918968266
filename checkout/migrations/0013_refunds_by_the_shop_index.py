"""Refunds the shop made on its own (no staff member asked: a payment it could not deliver), found by day for the
staff dashboard."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0012_webhook_needs_attention"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="refund",
            index=models.Index(condition=models.Q(("requested_by__isnull", True)), fields=["created_at"],
                               name="refund_by_the_shop_idx"),
        ),
    ]
