"""Refunds follow Stripe's whole lifecycle: a ``canceled`` status, an ``origin`` (refunds made in Stripe's
Dashboard are recorded too, never sent by the shop), and indexes for the dashboard (refunds by day, failed or
canceled ones). Existing rows are refunds the shop asked for: ``origin`` shop."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkout', '0010_session_refund_columns_go'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='refund',
            name='refund_status_known',
        ),
        migrations.AddField(
            model_name='refund',
            name='origin',
            field=models.CharField(choices=[('shop', 'Asked by the shop'), ('stripe', 'Made in Stripe (not by the shop)')], default='shop', max_length=8),
        ),
        migrations.AlterField(
            model_name='checkoutsession',
            name='stripe_refunded_cents',
            field=models.PositiveBigIntegerField(default=0, help_text='What Stripe has accepted to refund of the payment: its pending and succeeded refunds.'),
        ),
        migrations.AlterField(
            model_name='refund',
            name='requested_by',
            field=models.ForeignKey(blank=True, help_text="The staff member who asked for it (none: the shop, or someone in Stripe's Dashboard).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='refund',
            name='status',
            field=models.CharField(choices=[('requested', 'Requested (not yet accepted by Stripe)'), ('pending', 'Pending at Stripe'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('canceled', 'Canceled')], default='requested', max_length=16),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(fields=['created_at'], name='refund_created_idx'),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(condition=models.Q(('status__in', ['failed', 'canceled'])), fields=['updated_at'], name='refund_undone_idx'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['requested', 'pending', 'succeeded', 'failed', 'canceled'])), name='refund_status_known'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('origin__in', ['shop', 'stripe'])), name='refund_origin_known'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('origin', 'shop'), models.Q(('requested_by__isnull', True), ('attempts', 0)), _connector='OR'), name='refund_from_stripe_not_sent'),
        ),
    ]
