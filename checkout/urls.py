from django.urls import path

from checkout.views import demo

app_name = "checkout"

urlpatterns = [
    # Where the fake Stripe sends shoppers in demo mode (404 in stripe mode).
    path("demo-stripe/<str:stripe_session_id>/", demo.hosted_checkout, name="demo_stripe"),
]
