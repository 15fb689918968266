"""A checkout session keeps what the shopper pays, not what is sold: a package's points become the line item's
description shown on Stripe's page, as before (the package columns go in 0008)."""

from django.db import migrations, models


def describe_packages(apps, schema_editor):
    CheckoutSession = apps.get_model("checkout", "CheckoutSession")
    sessions = CheckoutSession.objects.filter(kind="points_package", points__gt=0).values_list("pk", "points")
    for session_id, points in sessions.iterator(chunk_size=2000):
        CheckoutSession.objects.filter(pk=session_id).update(description=f"{points:,} points")


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0006_package_link_points_at_wallet"),
        ("wallet", "0004_pointspurchase"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkoutsession",
            name="description",
            field=models.CharField(blank=True, help_text="Shown under the title on Stripe's page.", max_length=300),
        ),
        migrations.RunPython(describe_packages, migrations.RunPython.noop),
    ]
