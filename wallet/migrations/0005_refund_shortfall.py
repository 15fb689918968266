"""Points a refund made in Stripe's Dashboard could not take back (the shopper had spent them), recorded for
staff."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkout', '0011_refund_lifecycle'),
        ('wallet', '0004_pointspurchase'),
    ]

    operations = [
        migrations.CreateModel(
            name='RefundShortfall',
            fields=[
                ('refund', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='points_shortfall', serialize=False, to='checkout.refund')),
                ('points', models.PositiveBigIntegerField(help_text='Points the refund should have taken back and could not.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('settled_at', models.DateTimeField(blank=True, null=True)),
                ('settled_because', models.CharField(blank=True, max_length=200)),
                ('purchase', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refund_shortfalls', to='wallet.pointspurchase')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(condition=models.Q(('settled_at__isnull', True)), fields=['created_at'], name='shortfall_open_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('points__gt', 0)), name='shortfall_points_positive')],
            },
        ),
    ]
