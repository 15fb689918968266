from django.urls import path

from checkout.views import flow

app_name = "checkout"

urlpatterns = [
    path("points/", flow.choose, name="choose"),
    path("points/start/", flow.start, name="start"),
    path("<uuid:session_id>/", flow.review, name="review"),
    path("<uuid:session_id>/pay/", flow.pay, name="pay"),
    path("<uuid:session_id>/result/", flow.result, name="result"),
    path("<uuid:session_id>/check/", flow.check, name="check"),
    path("<uuid:session_id>/changed/", flow.changed, name="changed"),
]
