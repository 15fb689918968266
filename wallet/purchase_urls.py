from django.urls import path

from wallet import purchase_views as views

# Buying points, under /checkout/ where it has always been.
app_name = "points"

urlpatterns = [
    path("points/", views.choose, name="choose"),
    path("points/start/", views.start, name="start"),
    path("<uuid:session_id>/", views.review, name="review"),
    path("<uuid:session_id>/pay/", views.pay, name="pay"),
    path("<uuid:session_id>/result/", views.result, name="result"),
    path("<uuid:session_id>/check/", views.check, name="check"),
    path("<uuid:session_id>/changed/", views.changed, name="changed"),
]
