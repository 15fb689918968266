"""Sign-up, log-in, log-out and password change, under /accounts/ without a namespace (Django's auth views and
LOGIN_URL know them by these names)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from shop import views

urlpatterns = [
    path("signup/", views.sign_up, name="signup"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
