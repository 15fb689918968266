from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = "Checkout sessions and payments"

    def ready(self):
        from checkout.kinds import register
        from checkout.services.orphans import RestoredPaymentKind

        # Checkout's own kind: sessions restored to hold the refund of a payment that arrived after they were deleted.
        register(RestoredPaymentKind())
