from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from checkout.kinds import register
        from orders.checkout_kind import CartKind

        register(CartKind())
