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




class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why."""
