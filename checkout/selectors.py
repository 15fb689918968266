from django.db.models import QuerySet
from django.utils import timezone

from checkout.models import CheckoutSession
from shop.models import PointsPackage
from shop.selectors import active_packages
from shop.templatetags.shop_tags import money


def checkout_session_for_user(*, user, session_id) -> CheckoutSession | None:
    """The shopper's own session (anyone else's is None, so pages answer 404 rather than "forbidden")."""
    return CheckoutSession.objects.select_related("package").filter(pk=session_id, user=user).first()


def checkout_session_active(*, user) -> CheckoutSession | None:
    return (CheckoutSession.objects.select_related("package")
            .filter(user=user, status=CheckoutSession.Status.ACTIVE, expires_at__gt=timezone.now()).first())


def checkout_packages() -> QuerySet[PointsPackage]:
    return active_packages()


def checkout_session_changes(*, session: CheckoutSession, package: PointsPackage | None) -> list[str]:
    """What differs between the offer the shopper accepted and what is on sale now, in words."""
    if package is None:
        return [f"{session.title} is no longer on sale."]
    changes = []
    if package.name != session.title:
        changes.append(f"{session.title} is now called {package.name}.")
    if (package.price_cents, package.currency) != (session.amount_cents, session.currency):
        changes.append(f"The price changed from {money(session.amount_cents, session.currency)} "
                       f"to {money(package.price_cents, package.currency)}.")
    if package.points != session.points:
        changes.append(f"It now gives {package.points:,} points instead of {session.points:,}.")
    return changes
