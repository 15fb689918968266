"""The purge's partial index follows what it may delete (checkout.models.PURGEABLE): no session awaiting Stripe's
outcome, none completed on Stripe's side (a bank debit under way)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0010_session_refund_columns_go"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="checkoutsession",
            name="checkout_unfinished_age_idx",
        ),
        migrations.AddIndex(
            model_name="checkoutsession",
            index=models.Index(
                condition=models.Q(models.Q(("status", "completed"), _negated=True), ("awaiting_stripe", False),
                                   models.Q(("stripe_status", "complete"), _negated=True)),
                fields=["updated_at"], name="checkout_purgeable_age_idx"),
        ),
    ]
