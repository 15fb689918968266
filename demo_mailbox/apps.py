from django.apps import AppConfig


class DemoMailboxConfig(AppConfig):
    """Demo mode only (installed by the settings beside the demo Stripe): every mail the shop sends is kept and
    shown at /demo-mailbox/, so a newcomer sees receipts and password resets without a mail server."""

    name = "demo_mailbox"
    verbose_name = "Demo mailbox"
    default_auto_field = "django.db.models.BigAutoField"
