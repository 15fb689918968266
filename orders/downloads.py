"""Signed, expiring download links. A link names one order item and its buyer; the view also checks that the
person asking is that buyer and that the order is paid, so a forwarded link is useless to anyone else. A link of
an order whose payment is disputed answers that the downloads are suspended (``DownloadSuspended``)."""

from django.conf import settings
from django.core import signing

from orders.models import OrderItem, OrderStatus

SALT = "orders.download"


class DownloadLinkBroken(Exception):
    pass


class DownloadLinkExpired(Exception):
    pass


class DownloadSuspended(Exception):
    """The buyer's own, valid link, of an order whose payment is disputed (or was taken back by a dispute)."""

    def __init__(self, order):
        super().__init__(f"order {order.short_id}: {order.get_dispute_status_display().lower()}")
        self.order = order


def download_token(*, item: OrderItem, user_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{user_id}.{item.pk}")


def download_item(*, token: str, user) -> OrderItem:
    """The order item a valid, unexpired link of ``user``'s grants, or DownloadLinkBroken/-Expired."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=settings.DOWNLOAD_LINK_TTL)
    except signing.SignatureExpired:
        raise DownloadLinkExpired from None
    except signing.BadSignature:
        raise DownloadLinkBroken from None
    owner_id, _, item_id = value.partition(".")
    if owner_id != str(user.pk):
        raise DownloadLinkBroken
    item = (OrderItem.objects.select_related("product", "order")
            .filter(pk=item_id, order__user=user, order__status=OrderStatus.COMPLETED).first())
    if item is None:
        raise DownloadLinkBroken
    if item.order.downloads_suspended:
        raise DownloadSuspended(item.order)
    return item
