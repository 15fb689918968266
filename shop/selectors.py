from django.db.models import QuerySet

from shop.models import Product


def catalog_products() -> QuerySet[Product]:
    return Product.objects.active().order_by("title")


def product_for_page(*, slug: str) -> Product | None:
    """An active product by slug, or None (an inactive product is gone for shoppers)."""
    return Product.objects.active().filter(slug=slug).first()
