from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.flatpages import views as flatpages
from django.urls import include, path, re_path
from django.views.static import serve

from ops import health
from shop import views as shop_views
from shop.pages import SHOP_PAGES

urlpatterns = [
    path("", include("shop.urls")),
    path("accounts/", include("shop.account_urls")),
    path("wallet/", include("wallet.urls")),
    path("checkout/", include("wallet.purchase_urls")),
    path("webhooks/", include("checkout.webhook_urls")),
    path("", include("orders.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", shop_views.favicon, name="favicon"),
    # The information pages in the footer: flat pages, edited by staff in the admin.
    *(path(page.url.lstrip("/"), flatpages.flatpage, {"url": page.url}, name=page.name) for page in SHOP_PAGES),
    # Catalog previews are public; the full images under MEDIA_ROOT/products/ are only ever served to buyers.
    re_path(r"^media/previews/(?P<path>.+)$", serve, {"document_root": settings.MEDIA_ROOT / "previews"},
            name="preview"),
]

# The fake Stripe's hosted checkout page, where its sessions send shoppers; installed only in demo mode.
if apps.is_installed("stripe_fake"):
    urlpatterns.append(path("demo-stripe/", include("stripe_fake.urls")))
# The demo mailbox: the mail the shop sent, kept in demo mode only.
if apps.is_installed("demo_mailbox"):
    urlpatterns.append(path("demo-mailbox/", include("demo_mailbox.urls")))

# A database outage answers 503 rather than 500 (ops/errors.py).
handler500 = "ops.errors.server_error"
