from django.db.models import QuerySet
from django.db.models.functions import Lower

from shop.models import Product, User


def catalog_products() -> QuerySet[Product]:
    return Product.objects.active().order_by("title")


def product_for_page(*, slug: str) -> QuerySet[Product]:
    """The active product ``slug`` names, as a queryset (empty: an inactive product is gone for shoppers), for
    the page to read with what it adds (the shopper's ownership) in one query."""
    return Product.objects.active().filter(slug=slug)


def email_taken(*, email: str, by_other_than=None) -> bool:
    """Whether an account uses ``email``, however it is typed: read through the unique index on lower(email)."""
    accounts = User.objects.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())
    if by_other_than is not None:
        accounts = accounts.exclude(pk=by_other_than.pk)
    return accounts.exists()
