"""Every write to wallets and the ledger. Import from here: ``from wallet.services import wallet_spend``."""

from wallet.services.corrections import wallet_adjust, wallet_reverse
from wallet.services.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidLedgerRequest,
    InvalidPoints,
    WalletError,
)
from wallet.services.movements import wallet_credit, wallet_open, wallet_spend

__all__ = [
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidLedgerRequest",
    "InvalidPoints",
    "WalletError",
    "wallet_adjust",
    "wallet_credit",
    "wallet_open",
    "wallet_reverse",
    "wallet_spend",
]
