class CartError(Exception):
    """A cart change that was refused; the message is written for the shopper."""


class ProductUnavailable(CartError):
    pass


class NotEnoughStock(CartError):
    pass


class AlreadyInCart(CartError):
    """One copy of a digital good is all anyone needs: the product is in the cart already."""


class AlreadyOwned(CartError):
    """The shopper owns the product (it is in their library): it is not sold to them again."""


class CurrencyMismatch(CartError):
    pass


class EmptyCart(CartError):
    pass


class ReservationLimitReached(CartError):
    """A card checkout would hold more limited copies than RESERVATION_LIMIT_PER_SHOPPER allows."""


class CartChanged(CartError):
    """The cart is no longer what the shopper's page showed: another tab paid for it (``paid_order``) or changed
    it. Nothing was paid; the page shows the cart as it is now."""

    def __init__(self, message: str, *, paid_order=None, empty: bool = False):
        super().__init__(message)
        self.paid_order = paid_order
        self.empty = empty


class OtherCheckoutOpen(CartError):
    """A card checkout would end the shopper's open checkout of another kind (a points package) and they have
    not chosen to replace it: ``open`` says which, and where it continues."""

    def __init__(self, message: str, *, open):
        super().__init__(message)
        self.open = open


class CheckoutFormUsed(CartError):
    """The form's token already placed an order paid another way (a points token for a card order or back)."""




class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why."""


class OrderAlreadyPaid(Exception):
    """The order has a payment already (``payment``); the database refuses a second one (``OrderPayment``)."""

    def __init__(self, message: str, payment):
        super().__init__(message)
        self.payment = payment
