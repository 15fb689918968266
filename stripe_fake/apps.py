from django.apps import AppConfig


class StripeFakeConfig(AppConfig):
    name = "stripe_fake"
    verbose_name = "Demo Stripe (fake)"
