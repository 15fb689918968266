import uuid

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from shop.models import Product, User
from wallet.models import PointsPackage
from wallet.services import wallet_credit, wallet_open

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


def give_points(user, points: int, *, description: str = "Test grant"):
    """Points for ``user`` as staff would give them: an adjustment through ``wallet_credit``, under a key of its
    own. For tests that need a shopper with points (tests of crediting call the service themselves)."""
    return wallet_credit(user=user, points=points, kind="adjustment", idempotency_key=f"test-grant:{uuid.uuid4()}",
                         description=description)


class ShopperFactory(UserFactory):
    """A shopper with points in the wallet: ``ShopperFactory(points=1000)``, given by ``give_points``
    (``points__description=...`` names the ledger entry). Without ``points`` the wallet is empty."""

    @factory.post_generation
    def points(user, create, extracted, **kwargs):
        if create and extracted:
            give_points(user, extracted, **kwargs)


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
    """A points-package checkout session with its purchase, as points_purchase_start makes them (statuses set
    directly for tests of cleanup and recovery; a completed one needs completed_at, as the database insists).
    ``package`` and ``points`` describe the purchase."""

    class Meta:
        model = "checkout.CheckoutSession"
        exclude = ["package", "points"]

    user = factory.SubFactory(UserFactory)
    package = factory.SubFactory(PointsPackageFactory)
    points = factory.Maybe("package", factory.SelfAttribute("package.points"), 0)
    kind = "points_package"
    title = factory.SelfAttribute("package.name")
    description = factory.LazyAttribute(lambda session: f"{session.points:,} points" if session.points else "")
    amount_cents = factory.SelfAttribute("package.price_cents")
    currency = factory.SelfAttribute("package.currency")
    status = "active"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
    expires_at = factory.LazyAttribute(lambda session: session.created_at + settings.CHECKOUT_SESSION_TTL)
    completed_at = factory.LazyAttribute(lambda session: session.created_at if session.status == "completed" else None)
    purchase = factory.Maybe("package", factory.RelatedFactory(
        "tests.factories.PointsPurchaseFactory", factory_related_name="checkout_session",
        package=factory.SelfAttribute("..package"), points=factory.SelfAttribute("..points")))


class PointsPurchaseFactory(DjangoModelFactory):
    class Meta:
        model = "wallet.PointsPurchase"

    package = factory.SubFactory(PointsPackageFactory)
    points = factory.SelfAttribute("package.points")


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


def paid_card_order(*, user, total_cents: int = 3999):
    """A completed card order whose payment the fake Stripe received, paid through a completed cart checkout
    session (as the webhook leaves them; its events are not delivered)."""
    from checkout import gateway
    from checkout.models import CheckoutSession
    from stripe_fake import hosted

    session = CheckoutSessionFactory(user=user, kind="cart", package=None, title="Order", amount_cents=total_cents,
                                     currency="usd")
    created = gateway.checkout_session_create(session=session, success_url="http://testserver/orders/",
                                              cancel_url="http://testserver/cart/", now=timezone.now())
    intent = hosted.pay(created.id)["payment_intent"]
    CheckoutSession.objects.filter(pk=session.pk).update(
        status="completed", completed_at=timezone.now(), stripe_session_id=created.id, stripe_payment_intent_id=intent)
    return OrderFactory(user=user, total_cents=total_cents, stripe_payment_intent_id=intent, checkout_session=session)
