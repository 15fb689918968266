"""What a cart page showed when the server rendered it, carried by its pay forms and its live refresh (signed, so
only the shop makes one). A pay from a stale tab -- the cart paid or changed in another tab meanwhile -- is then
answered with what happened instead of paying for a cart the shopper never saw, and a refreshed cart page says
when what it showed was paid."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core import signing

SALT = "orders.cart-seen"
# A payment's time is taken when its transaction starts, so one committing just after a page read the cart may
# carry a time a little before the page's: it still counts as paid after the page was shown.
PAID_SLACK = timedelta(seconds=10)


@dataclass(frozen=True)
class CartSeen:
    lines: frozenset  # the product id of each line (a line is one copy)
    total_cents: int
    total_points: int
    at: datetime

    @property
    def product_ids(self) -> list[int]:
        return sorted(self.lines)

    @property
    def paid_after(self) -> datetime:
        return self.at - PAID_SLACK


def cart_lines_key(items) -> frozenset:
    """The lines of a cart (``CartItem`` rows) as a page shows them."""
    return frozenset(item.product_id for item in items)


def cart_seen_matches(seen: CartSeen, *, items) -> bool:
    """Whether the cart (its ``CartItem`` rows, products loaded) is still what the page showed, prices included."""
    items = list(items)
    return (cart_lines_key(items) == seen.lines
            and sum(item.product.price_cents for item in items) == seen.total_cents
            and sum(item.product.price_points for item in items) == seen.total_points)


def cart_seen_token(cart, *, now: datetime) -> str:
    """``cart`` is an ``orders.selectors.CartSummary``, as the page renders it."""
    return signing.dumps({
        "l": sorted(line.item.product_id for line in cart.lines),
        "c": cart.total_cents, "p": cart.total_points, "t": int(now.timestamp()),
    }, salt=SALT, compress=True)


def cart_seen_read(value: str) -> CartSeen | None:
    """None for anything the shop did not sign (a form from before this existed, a value typed by hand)."""
    if not value or len(value) > 4000:
        return None
    try:
        data = signing.loads(value, salt=SALT)
        return CartSeen(lines=frozenset(int(product_id) for product_id in data["l"]),
                        total_cents=int(data["c"]), total_points=int(data["p"]),
                        at=datetime.fromtimestamp(int(data["t"]), tz=UTC))
    except (signing.BadSignature, ValueError, TypeError, KeyError, OverflowError):
        return None
