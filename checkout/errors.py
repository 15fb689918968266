class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why. Nothing was changed."""
