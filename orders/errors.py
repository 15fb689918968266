class CartError(Exception):
    """A cart change that was refused; the message is written for the shopper."""


class ProductUnavailable(CartError):
    pass


class NotEnoughStock(CartError):
    pass


class InvalidQuantity(CartError):
    pass


class CurrencyMismatch(CartError):
    pass


class EmptyCart(CartError):
    pass


class ReservationLimitReached(CartError):
    """A card checkout would hold more limited copies than RESERVATION_LIMIT_PER_SHOPPER allows."""


class CheckoutFormUsed(CartError):
    """The form's token already placed an order paid another way (a points token for a card order or back)."""




class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why."""


class OrderAlreadyPaid(Exception):
    """The order has a payment already (``payment``); the database refuses a second one (``OrderPayment``)."""

    def __init__(self, message: str, payment):
        super().__init__(message)
        self.payment = payment
