"""Every write to wallets, the ledger and points purchases. Import from here:
``from wallet.services import wallet_spend``."""

from wallet.services.corrections import purchase_reversed_points, wallet_adjust, wallet_restore, wallet_reverse
from wallet.services.disputes import points_purchase_dispute_hold, points_purchase_dispute_release
from wallet.services.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidLedgerRequest,
    InvalidPoints,
    WalletError,
)
from wallet.services.movements import wallet_credit, wallet_open, wallet_spend
from wallet.services.purchases import (
    Recovery,
    RecoveryOutcome,
    points_purchase_recover,
    points_purchase_start,
)

__all__ = [
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidLedgerRequest",
    "InvalidPoints",
    "Recovery",
    "RecoveryOutcome",
    "WalletError",
    "points_purchase_dispute_hold",
    "points_purchase_dispute_release",
    "points_purchase_recover",
    "points_purchase_start",
    "purchase_reversed_points",
    "wallet_adjust",
    "wallet_credit",
    "wallet_open",
    "wallet_restore",
    "wallet_reverse",
    "wallet_spend",
]
