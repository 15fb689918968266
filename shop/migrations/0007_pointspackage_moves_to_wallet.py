"""Points packages moved to the wallet app (wallet 0003), which took over the table as it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0006_package_link_points_at_wallet"),
        ("shop", "0006_heartbeat_outbox_to_ops"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="PointsPackage")],
        ),
    ]
