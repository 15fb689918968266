from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from shop import health, views

storefront_patterns = (
    [
        path("", views.catalog, name="catalog"),
        path("products/<slug:slug>/", views.product_detail, name="product"),
        path("points/", views.packages, name="packages"),
    ],
    "shop",
)

account_patterns = [
    path("signup/", views.sign_up, name="signup"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

urlpatterns = [
    path("", include(storefront_patterns)),
    path("accounts/", include(account_patterns)),
    path("wallet/", include("wallet.urls")),
    path("checkout/", include("wallet.purchase_urls")),
    path("webhooks/", include("checkout.webhook_urls")),
    path("", include("orders.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    # Catalog previews are public; the full images under MEDIA_ROOT/products/ are only ever served to buyers.
    re_path(r"^media/previews/(?P<path>.+)$", serve, {"document_root": settings.MEDIA_ROOT / "previews"},
            name="preview"),
]

# The fake Stripe's hosted checkout page, where its sessions send shoppers; installed only in demo mode.
if apps.is_installed("stripe_fake"):
    urlpatterns.append(path("demo-stripe/", include("stripe_fake.urls")))

# A database outage answers 503 rather than 500 (shop/errors.py).
handler500 = "shop.errors.server_error"
