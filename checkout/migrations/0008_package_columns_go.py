"""What a points package checkout sold now lives in the wallet's ``PointsPurchase`` (copied by wallet 0004): the
session's package columns go, in a migration of their own so that the copy has committed before the table is
altered."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0007_session_description"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="checkoutsession", name="checkout_kind_known"),
        migrations.RemoveConstraint(model_name="checkoutsession", name="checkout_package_has_points"),
        migrations.RemoveConstraint(model_name="checkoutsession", name="checkout_credit_only_when_completed"),
        migrations.RemoveField(model_name="checkoutsession", name="ledger_entry"),
        migrations.RemoveField(model_name="checkoutsession", name="package"),
        migrations.RemoveField(model_name="checkoutsession", name="points"),
        migrations.AlterField(
            model_name="checkoutsession",
            name="kind",
            field=models.CharField(help_text="Which app's handler fulfils it (checkout.kinds).", max_length=40),
        ),
    ]
