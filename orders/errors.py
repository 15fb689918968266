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
