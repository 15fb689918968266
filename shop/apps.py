from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop: accounts and catalog"

    def ready(self):
        from shop.logs import connect_celery_signals

        connect_celery_signals()
