import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from shop.models import PointsPackage, Product, User
from wallet.services import wallet_open

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def wallet(user, create, extracted, **kwargs):
        if create:
            user.save()
            wallet_open(user=user)


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    is_superuser = True


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Picture {n}")
    slug = factory.Sequence(lambda n: f"picture-{n}")
    description = "A test picture."
    image = factory.django.ImageField(filename="full.jpg", width=32, height=24, format="JPEG")
    preview = factory.django.ImageField(filename="preview.jpg", width=8, height=6, format="JPEG")
    price_cents = 499
    price_points = 450
    stock = None


class PointsPackageFactory(DjangoModelFactory):
    class Meta:
        model = PointsPackage

    name = factory.Sequence(lambda n: f"Package {n}")
    points = 500
    price_cents = 499
    sort_order = factory.Sequence(int)


class CheckoutSessionFactory(DjangoModelFactory):
    """A points-package checkout session as checkout_session_start makes it (statuses set directly for tests
    of cleanup and recovery; a completed one needs completed_at, as the database insists)."""

    class Meta:
        model = "checkout.CheckoutSession"

    user = factory.SubFactory(UserFactory)
    package = factory.SubFactory(PointsPackageFactory)
    kind = "points_package"
    title = factory.SelfAttribute("package.name")
    amount_cents = factory.SelfAttribute("package.price_cents")
    currency = factory.SelfAttribute("package.currency")
    points = factory.SelfAttribute("package.points")
    status = "active"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
    expires_at = factory.LazyAttribute(lambda session: session.created_at + settings.CHECKOUT_SESSION_TTL)
    completed_at = factory.LazyAttribute(lambda session: session.created_at if session.status == "completed" else None)


class OrderFactory(DjangoModelFactory):
    """A completed order as the placement services leave it (no items: refund tests look at money, not lines).
    Card orders need ``stripe_payment_intent_id`` of a payment the fake Stripe received."""

    class Meta:
        model = "orders.Order"

    user = factory.SubFactory(UserFactory)
    payment_method = "stripe"
    status = "completed"
    total_cents = 3999
    total_points = 3600
    currency = "usd"
    idempotency_key = factory.Sequence(lambda n: f"test-order-{n}")
    fulfilled_at = factory.LazyFunction(timezone.now)
