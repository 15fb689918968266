from checkout.money import format_points


class WalletError(Exception):
    """Base of every refusal by the wallet services. A refusal always leaves the ledger and wallet unchanged."""


class InvalidPoints(WalletError, ValueError):
    """Points must be a positive whole number (a signed, non-zero one for staff adjustments)."""


class InvalidLedgerRequest(WalletError, ValueError):
    """A request the ledger cannot record as asked: no idempotency key, an unknown kind, no reason..."""


class InsufficientPoints(WalletError):
    def __init__(self, *, balance: int, points: int, action: str = "spend"):
        self.balance = balance
        self.points = points
        super().__init__(f"Not enough points to {action} {format_points(points)}: the balance is "
                         f"{format_points(balance)}.")


class IdempotencyConflict(WalletError):
    """The idempotency key was used before for a different request (another wallet, amount or kind), like a
    payment API answering a reused key with different parameters."""

    def __init__(self, *, idempotency_key: str, first: str, second: str):
        self.idempotency_key = idempotency_key
        super().__init__(f"Idempotency key {idempotency_key!r} was already used for {first}; "
                         f"refusing to reuse it for {second}.")
