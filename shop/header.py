"""The storefront's header -- signed-in user, points balance, cart count -- read once per request, in one query.

Every page shows them, and each used to cost a query of its own besides the session's and the user's (Django's
lazy ``request.user``); the wallet and cart pages then read the balance again for their own content. Here the
first use of ``request.user`` reads session, user, wallet and cart count together (``wallet.badge``'s query with
the cart's count added), and the badges and pages take the figures from ``header_figures``. A session that needs
more than the plain check goes Django's usual way, and the figures are then read by whoever shows them.

The figures only on GET and HEAD (see ``ops.header``); other requests still read session and user in one query.
"""

from django.contrib import auth
from django.utils.functional import SimpleLazyObject

from ops.header import SAFE_METHODS, HeaderFigures
from orders.models import CartItem
from wallet.badge import signed_in_row

_CART_COUNT = f"(SELECT COUNT(*) FROM {CartItem._meta.db_table} c WHERE c.user_id = u.id)"


def _user_with_header(request):
    found = signed_in_row(request, (_CART_COUNT,))
    if found is None:
        return auth.get_user(request)
    version, (cart_count,) = found
    request._header_figures = HeaderFigures(balance=version.balance, cart_count=int(cart_count))
    return request.user  # set by signed_in_row


def _user_alone(request):
    # A POST may move points or change the cart: the figures read now would be stale by the time it renders.
    return request.user if signed_in_row(request) is not None else auth.get_user(request)


class ShopperHeaderMiddleware:
    """After AuthenticationMiddleware: ``request.user``, when first used, is read with the session in one query
    (with the header's figures on GET and HEAD)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        read = _user_with_header if request.method in SAFE_METHODS else _user_alone
        request.user = SimpleLazyObject(lambda: read(request))
        return self.get_response(request)
