"""The refund columns of checkout sessions go, now that refunds are rows of their own (copied in 0008; a migration
of their own, so that the copy has committed before the table is altered)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0009_refunds_have_records_and_histories"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='checkoutsession',
            options={'ordering': ['-created_at'], 'permissions': [('refund_checkoutsession', "Can refund a checkout session's payment")]},
        ),
        migrations.RemoveConstraint(
            model_name='checkoutsession',
            name='checkout_refund_within_amount',
        ),
        migrations.RemoveConstraint(
            model_name='checkoutsession',
            name='checkout_refunded_only_when_completed',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='refund_confirmed_at',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='refund_reason',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='refunded_at',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='refunded_by',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='refunded_cents',
        ),
        migrations.RemoveField(
            model_name='checkoutsession',
            name='stripe_refund_id',
        ),
    ]
