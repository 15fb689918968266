"""Sign-up, log-in, log-out, password change and reset, and e-mail change, under /accounts/ without a namespace
(Django's auth views and LOGIN_URL know them by these names)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from shop import account_views, views
from shop.forms import PasswordResetRequestForm

urlpatterns = [
    path("signup/", views.sign_up, name="signup"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The reset mail is queued, not sent from the request, with its link on SITE_URL (shop.notifications).
    path("password/reset/", auth_views.PasswordResetView.as_view(form_class=PasswordResetRequestForm),
         name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("email/", account_views.email_change, name="email_change"),
    path("email/confirm/<str:token>/", account_views.email_change_confirm_view, name="email_change_confirm"),
]
