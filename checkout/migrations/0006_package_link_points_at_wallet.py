"""The package a session sold is the wallet's model now (same table); only the state's reference changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0005_fakestripeobject_moves_out"),
        ("wallet", "0003_pointspackage_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="checkoutsession",
                    name="package",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="checkout_sessions", to="wallet.pointspackage"),
                ),
            ],
        ),
    ]
