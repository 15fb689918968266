"""Webhook records can say "needs attention": a payment for a checkout session the shop no longer has."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0011_purge_spares_sessions_awaiting_payment"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="webhookevent",
            name="webhook_status_known",
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="status",
            field=models.CharField(
                choices=[("received", "Received"), ("processed", "Processed"), ("ignored", "Ignored"),
                         ("failed", "Failed"), ("attention", "Needs attention")],
                default="received", max_length=16),
        ),
        migrations.AddConstraint(
            model_name="webhookevent",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["received", "processed", "ignored", "failed", "attention"])),
                name="webhook_status_known"),
        ),
    ]
