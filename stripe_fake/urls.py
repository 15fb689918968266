from django.urls import path

from stripe_fake import views

app_name = "stripe_fake"

urlpatterns = [
    # Where the fake Stripe's checkout sessions send shoppers (a session's ``url``).
    path("<str:stripe_session_id>/", views.hosted_checkout, name="hosted"),
]
