"""One payment per order, in the database: ``OrderPayment`` (unique per order), filled for every order paid so far;
and ``Order.superseded_by``, the points order that paid for a card order's items before its card payment arrived."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

BATCH = 2000


def record_payments_so_far(apps, schema_editor):
    """Every order that received money: completed or refunded ones, and card orders whose payment was refunded
    because they could not be delivered. Paid with points when its spend is in the ledger (its key is
    ``order:<id>:pay``), by card otherwise."""
    Order = apps.get_model("orders", "Order")
    OrderPayment = apps.get_model("orders", "OrderPayment")
    LedgerEntry = apps.get_model("wallet", "LedgerEntry")
    paid = models.Q(status__in=["completed", "refunded"]) | ~models.Q(stripe_payment_intent_id="")
    orders = list(Order.objects.filter(paid).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(orders), BATCH):
        chunk = orders[start:start + BATCH]
        keys = [f"order:{pk}:pay" for pk in chunk]
        spent = set(LedgerEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
        payments = []
        for order in Order.objects.filter(pk__in=chunk):
            if f"order:{order.pk}:pay" in spent:
                payment = OrderPayment(order_id=order.pk, method="points", amount=order.total_points or 1)
            else:
                payment = OrderPayment(order_id=order.pk, method="stripe", amount=order.total_cents or 1,
                                       currency=order.currency or "usd",
                                       stripe_payment_intent_id=order.stripe_payment_intent_id)
            payment.created_at = order.fulfilled_at or order.updated_at
            payments.append(payment)
        OrderPayment.objects.bulk_create(payments, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_no_processing_status'),
        ('wallet', '0002_ledger'),
    ]

    operations = [
        migrations.CreateModel(
            name='OrderPayment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('method', models.CharField(choices=[('points', 'Points'), ('stripe', 'Card (Stripe)')], max_length=10)),
                ('amount', models.PositiveBigIntegerField(help_text='Points for a points payment, cents for a card payment.')),
                ('currency', models.CharField(blank=True, help_text="A card payment's currency; empty for points.", max_length=3)),
                ('stripe_payment_intent_id', models.CharField(blank=True, max_length=255)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='order',
            name='superseded_by',
            field=models.ForeignKey(blank=True, help_text="For card orders: the order that paid for the same items with points while this one's card checkout could still be paid. A card payment that still arrives for this one is refunded.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='supersedes', to='orders.order'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('superseded_by', models.F('id')), _negated=True), name='order_not_superseded_by_itself'),
        ),
        migrations.AddField(
            model_name='orderpayment',
            name='order',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='orders.order'),
        ),
        migrations.AddConstraint(
            model_name='orderpayment',
            constraint=models.UniqueConstraint(fields=('order',), name='order_paid_once'),
        ),
        migrations.AddConstraint(
            model_name='orderpayment',
            constraint=models.UniqueConstraint(condition=models.Q(('stripe_payment_intent_id', ''), _negated=True), fields=('stripe_payment_intent_id',), name='order_payment_intent_pays_once'),
        ),
        migrations.AddConstraint(
            model_name='orderpayment',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='order_payment_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='orderpayment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('currency', ''), ('method', 'points'), ('stripe_payment_intent_id', '')), models.Q(('method', 'stripe'), models.Q(('currency', ''), _negated=True)), _connector='OR'), name='order_payment_method_shape'),
        ),
        migrations.RunPython(record_payments_so_far, migrations.RunPython.noop),
    ]
