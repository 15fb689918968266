from django.urls import path

from demo_mailbox import views

app_name = "demo_mailbox"

urlpatterns = [
    path("", views.mailbox, name="list"),
    path("<int:mail_id>/", views.mail_detail, name="detail"),
    path("<int:mail_id>/html/", views.mail_html, name="html"),
]
