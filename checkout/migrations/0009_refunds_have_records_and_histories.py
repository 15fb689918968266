"""Refunds get records of their own (two phases: recorded, then sent to Stripe), checkout sessions get a status
history, and the refund columns on the session become ``Refund`` rows: a staff refund of a points package was
one whole refund per session, so each refunded session gets one row with what it said (confirmed by Stripe:
succeeded, else pending). Beat sends refunds that could not reach Stripe again."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models

from ops.beat_schedule import add_periodic_tasks, remove_periodic_tasks


def refunds_from_sessions(apps, schema_editor):
    CheckoutSession = apps.get_model("checkout", "CheckoutSession")
    Refund = apps.get_model("checkout", "Refund")
    RefundStatusChange = apps.get_model("checkout", "RefundStatusChange")
    for session in CheckoutSession.objects.filter(refunded_cents__gt=0).iterator(chunk_size=1000):
        status = "succeeded" if session.refund_confirmed_at else "pending"
        refund = Refund.objects.create(
            session_id=session.pk, amount_cents=session.refunded_cents, currency=session.currency,
            idempotency_key=f"checkout:{session.pk}:refund", status=status, reason=session.refund_reason or "-",
            requested_by_id=session.refunded_by_id, stripe_refund_id=session.stripe_refund_id or None,
            attempts=1, created_at=session.refunded_at, updated_at=session.refund_confirmed_at or session.refunded_at)
        RefundStatusChange.objects.create(refund=refund, from_status="", to_status=status, created_at=refund.created_at,
                                          note="recorded on its checkout session before refunds had records")


def sessions_from_refunds(apps, schema_editor):
    CheckoutSession = apps.get_model("checkout", "CheckoutSession")
    Refund = apps.get_model("checkout", "Refund")
    for refund in Refund.objects.exclude(status="failed").iterator(chunk_size=1000):
        CheckoutSession.objects.filter(pk=refund.session_id).update(
            refunded_cents=refund.amount_cents, refunded_at=refund.created_at, refunded_by_id=refund.requested_by_id,
            refund_reason=refund.reason, stripe_refund_id=refund.stripe_refund_id or "",
            refund_confirmed_at=refund.updated_at if refund.status == "succeeded" else None)


SCHEDULE = ("checkout: send unsent refunds", "checkout.tasks.refunds_send_unsent", 5, "minutes",
            "Sends again the refunds that could not reach Stripe when they were made (each has its own idempotency "
            "key, so a refund is never made twice).")


def schedule(apps, schema_editor):
    add_periodic_tasks(apps, [SCHEDULE])


def unschedule(apps, schema_editor):
    remove_periodic_tasks(apps, [SCHEDULE])


class Migration(migrations.Migration):

    dependencies = [
        ('checkout', '0008_package_columns_go'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='CheckoutSessionStatusChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(blank=True, max_length=16)),
                ('to_status', models.CharField(max_length=16)),
                ('note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Refund',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('amount_cents', models.PositiveBigIntegerField()),
                ('currency', models.CharField(max_length=3)),
                ('idempotency_key', models.CharField(help_text='Sent to Stripe with the refund: the same refund asked twice is one.', max_length=255, unique=True)),
                ('status', models.CharField(choices=[('requested', 'Requested (not yet accepted by Stripe)'), ('pending', 'Pending at Stripe'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='requested', max_length=16)),
                ('reason', models.CharField(max_length=300)),
                ('stripe_refund_id', models.CharField(blank=True, max_length=255, null=True, unique=True)),
                ('failure_message', models.CharField(blank=True, max_length=500)),
                ('attempts', models.PositiveIntegerField(default=0, help_text='How often it was sent to Stripe.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='RefundStatusChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(blank=True, max_length=16)),
                ('to_status', models.CharField(max_length=16)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='checkoutsessionstatuschange',
            name='session',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='status_changes', to='checkout.checkoutsession'),
        ),
        migrations.AddField(
            model_name='refund',
            name='requested_by',
            field=models.ForeignKey(blank=True, help_text='The staff member who asked for it (none: the shop).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='refund',
            name='session',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='checkout.checkoutsession'),
        ),
        migrations.AddField(
            model_name='refundstatuschange',
            name='refund',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='status_changes', to='checkout.refund'),
        ),
        migrations.AddIndex(
            model_name='checkoutsessionstatuschange',
            index=models.Index(fields=['session', 'created_at'], name='checkout_history_session_idx'),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(condition=models.Q(('status', 'requested')), fields=['updated_at'], name='refund_unsent_idx'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('amount_cents__gt', 0)), name='refund_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['requested', 'pending', 'succeeded', 'failed'])), name='refund_status_known'),
        ),
        migrations.RunPython(refunds_from_sessions, sessions_from_refunds),
        migrations.RunPython(schedule, unschedule),
    ]
