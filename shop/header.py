"""The storefront's header -- signed-in user, points balance, cart count -- read once per request, in one query.

Every page shows them, and each used to cost a query of its own besides the session's and the user's (Django's
lazy ``request.user``); the wallet and cart pages then read the balance again for their own content. Here the
first use of ``request.user`` reads session, user, wallet and cart count together (``wallet.badge``'s query with
the cart's count added), and the badges and pages take the figures from ``header_figures``. A session that needs
more than the plain check goes Django's usual way, and the figures are then read by whoever shows them.

Only on GET and HEAD (see ``ops.header``).
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


class ShopperHeaderMiddleware:
    """After AuthenticationMiddleware: ``request.user``, when first used, is read with the header's figures."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            request.user = SimpleLazyObject(lambda: _user_with_header(request))
        return self.get_response(request)
