"""Every page a shopper can see, in one list, with the data that makes each of them show something real.

``SHOP_PAGES`` is what the accessibility walk visits (tests/browser/test_accessibility.py), signed out and signed
in, at both screen sizes, and as staff. A new page joins it with ``shop_page(...)`` here: a name, who sees it
(the audiences), and how to get there -- a URL built from the ``Scene``, or a function that drives the browser
to it; data a new page needs goes into ``build_scene`` (``Scene.extra`` for anything without a field)."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from orders.downloads import download_token
from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory, StaffFactory, UserFactory
from tests.payments import pay_points_checkout
from wallet.services import points_purchase_start

ANONYMOUS, SHOPPER = "signed out", "signed in"
STAFF, STAFF_WITHOUT_RIGHTS = "staff", "staff without rights"


@dataclass
class Scene:
    """What the pages show: a shopper with points, a cart, a paid order, a points checkout on the demo Stripe's
    payment page; and staff."""

    shopper: object
    product: object
    other_product: object
    package: object
    order: Order
    points_session: object
    expired_download_token: str
    staff: object
    staff_without_rights: object
    base_url: str
    extra: dict = field(default_factory=dict)  # for pages added by other tests


@dataclass(frozen=True)
class ShopPage:
    name: str
    url: Callable[[Scene], str] | None = None
    audiences: tuple[str, ...] = (ANONYMOUS, SHOPPER)
    # Instead of ``url``: drive the browser there (a form posted, a limit reached). Gets (page, scene, settings)
    # and returns the HTTP status the page came with.
    visit: Callable | None = None
    status: int = 200  # what the page answers: error pages are checked to be the error they claim
    # axe rules not applied to this page, each with why: only for markup the shop does not write (Django admin's)
    not_ours: tuple[tuple[str, str], ...] | list = ()

    def open(self, page, scene: Scene, django_settings) -> int:
        if self.visit is not None:
            return self.visit(page, scene, django_settings)
        return page.goto(self.url(scene)).status


SHOP_PAGES: list[ShopPage] = []


def shop_page(name, url=None, *, audiences=(ANONYMOUS, SHOPPER), visit=None, status=200, not_ours=()) -> ShopPage:
    entry = ShopPage(name=name, url=url, audiences=audiences, visit=visit, status=status, not_ours=not_ours)
    SHOP_PAGES.append(entry)
    return entry


def pages_for(audience: str) -> list[ShopPage]:
    return [entry for entry in SHOP_PAGES if audience in entry.audiences]


def user_for(scene: Scene, audience: str):
    """Who is signed in to see the pages of ``audience`` (None: nobody)."""
    return {ANONYMOUS: None, SHOPPER: scene.shopper, STAFF: scene.staff,
            STAFF_WITHOUT_RIGHTS: scene.staff_without_rights}[audience]


def build_scene(base_url: str) -> Scene:
    from shop.management.commands.seed_demo import Command as SeedDemo

    SeedDemo()._ensure_pages()  # the footer's information pages, as `make run` has them
    shopper = ShopperFactory(email="ada.reader@example.com", points=5000)
    product = ProductFactory(title="Harbour Lights", price_points=450, stock=7)
    other_product = ProductFactory(title="Quiet Orchard", price_points=180)
    package = PointsPackageFactory(name="Premium", points=550, price_cents=3999)
    PointsPackageFactory(name="Basic", points=500, price_cents=499)

    cart_add(user=shopper, product_id=product.pk)
    order = order_pay_with_points(user=shopper, idempotency_key="accessibility-walk")
    cart_add(user=shopper, product_id=other_product.pk)  # the cart page has a line to show

    session = points_purchase_start(user=shopper, package=package).session
    pay_points_checkout(session_id=session.pk, user=shopper, base_url=base_url)
    session.refresh_from_db()

    with time_machine.travel(timezone.now() - settings.DOWNLOAD_LINK_TTL - timedelta(hours=1)):
        expired = download_token(item=order.items.get(), user_id=shopper.pk)
    return Scene(shopper=shopper, product=product, other_product=other_product, package=package, order=order,
                 points_session=session, expired_download_token=expired, staff=StaffFactory(),
                 staff_without_rights=UserFactory(is_staff=True), base_url=base_url,
                 extra={"receipt": _receipt_in_the_demo_mailbox(order), "reset_url": _password_reset_url(shopper),
                        "for_sale": ProductFactory(title="Salt Marsh at Dawn", price_points=320, stock=2)})


def _receipt_in_the_demo_mailbox(order: Order):
    """The order's receipt as the demo mailbox keeps it (the tests' own mail backend is Django's locmem)."""
    from django.test import override_settings

    from demo_mailbox.models import DemoMail
    from ops.mail import mail_send
    from orders.services.notifications import receipt_context

    with override_settings(EMAIL_BACKEND="demo_mailbox.backend.DemoMailboxBackend",
                           DEMO_MAILBOX_NEXT_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        mail_send(template="orders/email/receipt", subject=f"Your receipt for order {order.short_id}",
                  to=[order.user.email], context=receipt_context(order))
    return DemoMail.objects.latest("sent_at", "id")


def _password_reset_url(user) -> str:
    """The link of a password reset mail (Django's token for ``user`` as they are now)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return reverse("password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)),
                                                    default_token_generator.make_token(user)])


def _refused_log_in(page, scene, django_settings):
    """The log-in form sent once more than its limit allows: the 429 page."""
    _limit(django_settings, "login")
    page.goto(reverse("login"))
    page.get_by_label("Email").fill(scene.shopper.email)
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    return _last_status(page)


def _refused_package(page, scene, django_settings):
    """A points package chosen once more than the limit allows: the 429 page, signed in."""
    _limit(django_settings, "points:start")
    page.goto(reverse("points:choose"))
    with page.expect_navigation():
        page.locator("form[action$='/points/start/'] button").first.click()
    return _last_status(page)


def _limit(django_settings, view_name):
    django_settings.RATELIMIT_ENABLE = True
    django_settings.RATE_LIMITS = {**django_settings.RATE_LIMITS, view_name: [("ip", "0/m")]}


def _last_status(page) -> int:
    return page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")


def _demo_payment_page(scene):
    return reverse("stripe_fake:hosted", args=[scene.points_session.stripe_session_id])


shop_page("catalog", lambda scene: reverse("shop:catalog"))
shop_page("product", lambda scene: scene.product.get_absolute_url())
shop_page("packages", lambda scene: reverse("shop:packages"))
shop_page("log-in", lambda scene: reverse("login"), audiences=(ANONYMOUS,))
shop_page("sign-up", lambda scene: reverse("signup"), audiences=(ANONYMOUS,))
shop_page("404", lambda scene: "/no-such-page/", status=404)
shop_page("429 log-in", visit=_refused_log_in, audiences=(ANONYMOUS,), status=429)
shop_page("choose package", lambda scene: reverse("points:choose"), audiences=(SHOPPER,))
shop_page("package review", lambda scene: reverse("points:review", args=[scene.points_session.pk]),
          audiences=(SHOPPER,))
shop_page("demo payment page", _demo_payment_page, audiences=(SHOPPER,))
shop_page("package result", lambda scene: reverse("points:result", args=[scene.points_session.pk]),
          audiences=(SHOPPER,))
# Staff have bought nothing: for them these pages show their empty states.
shop_page("cart", lambda scene: reverse("orders:cart"), audiences=(SHOPPER, STAFF))
shop_page("wallet", lambda scene: reverse("wallet:home"), audiences=(SHOPPER, STAFF))
shop_page("orders", lambda scene: reverse("orders:list"), audiences=(SHOPPER, STAFF))
shop_page("order detail", lambda scene: reverse("orders:detail", args=[scene.order.pk]), audiences=(SHOPPER,))
shop_page("password change", lambda scene: reverse("password_change"), audiences=(SHOPPER,))
shop_page("your downloads", lambda scene: reverse("orders:library"), audiences=(SHOPPER,))
shop_page("abandoned attempts", lambda scene: reverse("orders:list") + "?attempts=1", audiences=(SHOPPER,))
shop_page("e-mail change", lambda scene: reverse("email_change"), audiences=(SHOPPER,))
shop_page("password reset", lambda scene: reverse("password_reset"), audiences=(ANONYMOUS,))
shop_page("password reset sent", lambda scene: reverse("password_reset_done"), audiences=(ANONYMOUS,))
shop_page("password reset new password", lambda scene: scene.extra["reset_url"], audiences=(ANONYMOUS,))
shop_page("password reset complete", lambda scene: reverse("password_reset_complete"), audiences=(ANONYMOUS,))
shop_page("demo mailbox", lambda scene: reverse("demo_mailbox:list"))
shop_page("demo mail (a receipt)", lambda scene: reverse("demo_mailbox:detail", args=[scene.extra["receipt"].pk]))
# "product" is one the shopper owns ("You own this"); this one they can buy now, by points or card.
shop_page("product to buy", lambda scene: scene.extra["for_sale"].get_absolute_url(), audiences=(SHOPPER,))
shop_page("about", lambda scene: "/about/")
shop_page("refund policy", lambda scene: "/refund-policy/")
shop_page("password changed", lambda scene: reverse("password_change_done"), audiences=(SHOPPER,))
shop_page("403 expired download", lambda scene: reverse("orders:download", args=[scene.expired_download_token]),
          audiences=(SHOPPER,), status=403)
shop_page("404 broken download", lambda scene: reverse("orders:download", args=["not-a-token"]),
          audiences=(SHOPPER,), status=404)
shop_page("429 package", visit=_refused_package, audiences=(SHOPPER,), status=429)

shop_page("staff dashboard", lambda scene: "/admin/dashboard/", audiences=(STAFF,))
shop_page("admin index", lambda scene: reverse("admin:index"), audiences=(STAFF,))
# Django admin's own pages: checked for everything the shop adds to them, less what Django's markup does itself.
DJANGO_BREADCRUMBS = ("link-in-text-block", "Django admin's breadcrumbs: links told apart by colour alone")
shop_page("admin orders", lambda scene: reverse("admin:orders_order_changelist"), audiences=(STAFF,),
          not_ours=[("label-title-only", "Django admin's search box, labelled by an icon"), DJANGO_BREADCRUMBS])
shop_page("admin order", lambda scene: reverse("admin:orders_order_change", args=[scene.order.pk]),
          audiences=(STAFF,),
          not_ours=[("empty-table-header", "Django admin's tabular inlines: an empty header over the row titles"),
                    ("td-has-header", "Django admin's tabular inlines: the same table"),
                    ("scrollable-region-focusable", "Django admin's inlines scroll sideways on a phone, unfocusable"),
                    DJANGO_BREADCRUMBS])
shop_page("403 staff without the right", lambda scene: reverse("admin:wallet_wallet_adjust",
                                                                 args=[scene.shopper.wallet.pk]),
          audiences=(STAFF_WITHOUT_RIGHTS,), status=403)
