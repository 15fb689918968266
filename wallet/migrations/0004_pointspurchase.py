"""What a points package checkout sold (package, points) moves from checkout's session row to the wallet's
``PointsPurchase``: every existing points package session gets its row here before checkout drops the columns
(checkout 0008). Its credit is found by the ledger's key, as before."""

import django.db.models.deletion
from django.db import migrations, models


def copy_from_sessions(apps, schema_editor):
    CheckoutSession = apps.get_model("checkout", "CheckoutSession")
    PointsPurchase = apps.get_model("wallet", "PointsPurchase")
    sessions = (CheckoutSession.objects.filter(kind="points_package")
                .values_list("pk", "package_id", "points").order_by("pk"))
    batch = []
    for session_id, package_id, points in sessions.iterator(chunk_size=2000):
        batch.append(PointsPurchase(checkout_session_id=session_id, package_id=package_id, points=points))
        if len(batch) == 2000:
            PointsPurchase.objects.bulk_create(batch)
            batch = []
    PointsPurchase.objects.bulk_create(batch)


def copy_back_to_sessions(apps, schema_editor):
    CheckoutSession = apps.get_model("checkout", "CheckoutSession")
    PointsPurchase = apps.get_model("wallet", "PointsPurchase")
    for purchase in PointsPurchase.objects.iterator(chunk_size=2000):
        CheckoutSession.objects.filter(pk=purchase.checkout_session_id).update(
            package_id=purchase.package_id, points=purchase.points)


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0006_package_link_points_at_wallet"),
        ("wallet", "0003_pointspackage_moves_here"),
    ]

    operations = [
        migrations.CreateModel(
            name="PointsPurchase",
            fields=[
                ("checkout_session", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                                          primary_key=True, related_name="points_purchase",
                                                          serialize=False, to="checkout.checkoutsession")),
                ("points", models.PositiveBigIntegerField()),
                ("package", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                              related_name="purchases", to="wallet.pointspackage")),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(("points__gt", 0)),
                                                       name="points_purchase_points_positive")],
            },
        ),
        migrations.RunPython(copy_from_sessions, copy_back_to_sessions),
    ]
