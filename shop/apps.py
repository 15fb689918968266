from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop: accounts and catalog"

    def ready(self):
        from shop.logs import connect_celery_signals
        from shop.outbox import connect_beat_signal

        connect_celery_signals()
        connect_beat_signal()
