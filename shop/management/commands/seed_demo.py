from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.flatpages.models import FlatPage
from django.contrib.sites.models import Site
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from shop.demo_images import artwork_files
from shop.models import Product, User
from shop.pages import SHOP_PAGES
from shop.services import user_sign_up
from wallet.models import PointsPackage
from wallet.services import wallet_credit, wallet_open

DEMO_SHOPPER = ("shopper@example.com", "shop-demo-2026")
DEMO_STAFF = ("staff@example.com", "staff-demo-2026")
DEMO_WELCOME_POINTS = 1000

PACKAGES = [
    # name, points, price in cents, sort order
    ("Basic", 500, 499, 1),
    ("Premium", 1200, 999, 2),
    ("Pro", 2600, 1999, 3),
]

PRODUCTS = [
    # title, price in cents, price in points, stock (None: unlimited)
    ("Aurora Over Fjords", 499, 450, None),
    ("Desert Bloom", 299, 280, None),
    ("Neon Harbour", 799, 750, 5),
    ("Quiet Orchard", 199, 180, None),
    ("Glacier Glass", 599, 560, None),
    ("Copper Canyon", 399, 360, None),
    ("Midnight Lanterns", 899, 840, 3),
    ("Tidal Patterns", 349, 320, None),
    ("Mossy Cathedral", 649, 600, None),
    ("Solar Sails", 999, 950, 10),
    ("Paper Mountains", 249, 230, None),
    ("Velvet Dunes", 549, 500, None),
]


class Command(BaseCommand):
    help = "Create demo packages, products (with generated images), a demo shopper and a staff user. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        created = {"packages": 0, "products": 0, "users": 0, "pages": self._ensure_pages()}
        for name, points, price_cents, sort_order in PACKAGES:
            _package, was_created = PointsPackage.objects.get_or_create(
                name=name, defaults={"points": points, "price_cents": price_cents, "sort_order": sort_order})
            created["packages"] += was_created
        for title, price_cents, price_points, stock in PRODUCTS:
            created["products"] += self._ensure_product(title, price_cents, price_points, stock)
        created["users"] += self._ensure_user(*DEMO_SHOPPER, staff=False)
        created["users"] += self._ensure_user(*DEMO_STAFF, staff=True)
        shopper = User.objects.get(email=DEMO_SHOPPER[0])
        # Through the ledger like any grant; the fixed key makes a second run a replay, not a second grant.
        wallet_credit(user=shopper, points=DEMO_WELCOME_POINTS, kind="adjustment", idempotency_key="seed_demo:welcome",
                      description="Welcome points for the demo shopper")

        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (created now: {summary})."))
        self.stdout.write(f"  Shopper: {DEMO_SHOPPER[0]} / {DEMO_SHOPPER[1]}  ({DEMO_WELCOME_POINTS} welcome points)")
        self.stdout.write(f"  Staff:   {DEMO_STAFF[0]} / {DEMO_STAFF[1]}  (admin at /admin/)")

    def _ensure_pages(self) -> int:
        """The footer's information pages, on the shop's site: created with their starting text when missing; what
        staff changed in the admin is kept."""
        site, _ = Site.objects.get_or_create(pk=settings.SITE_ID,
                                             defaults={"domain": "localhost", "name": "Pixel Shop"})
        if site.name in ("", "example.com"):  # the sites framework's placeholder
            site.domain, site.name = urlsplit(settings.SITE_URL).netloc or "localhost", "Pixel Shop"
            site.save()
        created = 0
        for page in SHOP_PAGES:
            flatpage, was_created = FlatPage.objects.get_or_create(
                url=page.url, defaults={"title": page.title, "content": page.content.strip()})
            flatpage.sites.add(site)
            created += was_created
        return created

    def _ensure_product(self, title, price_cents, price_points, stock) -> bool:
        slug = slugify(title)
        product = Product.objects.filter(slug=slug).first()
        if product is not None and product.image and product.image.storage.exists(product.image.name):
            return False
        full, preview = artwork_files(slug, title)
        was_created = product is None
        if product is None:
            product = Product(
                title=title, slug=slug, price_cents=price_cents, price_points=price_points, stock=stock,
                description=f"{title}: an original abstract composition, 1600 × 1200 pixels, delivered as JPEG.")
        product.image.save(f"{slug}.jpg", ContentFile(full), save=False)
        product.preview.save(f"{slug}.jpg", ContentFile(preview), save=False)
        product.save()
        return was_created

    def _ensure_user(self, email, password, *, staff: bool) -> bool:
        user = User.objects.filter(email=email).first()
        if user is not None:
            wallet_open(user=user)
            return False
        if staff:
            user = User.objects.create_superuser(email=email, password=password)
            wallet_open(user=user)
        else:
            user_sign_up(email=email, password=password)
        return True
