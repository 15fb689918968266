from django.urls import path

from checkout.views import webhooks

app_name = "webhooks"

urlpatterns = [
    path("stripe/", webhooks.stripe_webhook, name="stripe"),
]
