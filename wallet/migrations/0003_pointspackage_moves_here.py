"""Points packages belong to the wallet, which sells them through checkout; the table keeps its name."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0005_outbox_relay_schedule"),
        ("wallet", "0002_ledger"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="PointsPackage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("points", models.PositiveBigIntegerField()),
                        ("price_cents", models.PositiveBigIntegerField(help_text="Price in minor units (cents).")),
                        ("currency", models.CharField(choices=[("usd", "US dollar"), ("eur", "Euro"),
                                                               ("gbp", "Pound sterling")],
                                                      default="usd", max_length=3)),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        ("sort_order", models.PositiveSmallIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "shop_pointspackage",
                        "ordering": ["sort_order", "price_cents"],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("points__gt", 0)),
                                                   name="package_points_positive"),
                            models.CheckConstraint(condition=models.Q(("price_cents__gt", 0)),
                                                   name="package_price_cents_positive"),
                            models.CheckConstraint(condition=models.Q(("currency__in", ["usd", "eur", "gbp"])),
                                                   name="package_currency_known"),
                        ],
                    },
                ),
            ],
        ),
    ]
