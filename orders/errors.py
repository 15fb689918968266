from ops import state_machine


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


# An order status change that ``Order.TRANSITIONS`` does not allow (one exception for every state machine).
IllegalTransition = state_machine.IllegalTransition


class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why."""
