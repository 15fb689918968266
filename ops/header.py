"""What the storefront's header shows -- points balance, cart count -- as read with the signed-in user by
``shop.header.ShopperHeaderMiddleware`` (one query for session, user, wallet and cart). The badges and the pages
that show the same figures take them from here instead of reading them again.

Only on GET and HEAD: a POST may move points or change the cart after the user was read, and what it renders must
show the result, so there the figures are None and whoever shows them reads them again.
"""

from dataclasses import dataclass, replace

SAFE_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class HeaderFigures:
    balance: tuple  # wallet.selectors.Balance: (current, lifetime, spent)
    cart_count: int


def header_figures(request) -> HeaderFigures | None:
    """The figures read with the signed-in user, or None (signed out, the usual way was taken, or a POST)."""
    if request is None or request.method not in SAFE_METHODS:
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:  # is_authenticated loads the user, and the figures with it
        return None
    return getattr(request, "_header_figures", None)


def header_shows_balance(request, balance) -> None:
    """The header's badge shows ``balance``, read by the view after the header's figures were: a payment that
    landed between the two (a webhook committing while the page is asked for) must not leave the badge showing
    the old figure beside the page's new one."""
    figures = getattr(request, "_header_figures", None)
    if figures is not None:
        request._header_figures = replace(figures, balance=balance)
