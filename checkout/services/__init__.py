"""Every write the checkout app makes. Split by concern:

sessions     start / renew / follow / cancel / pay
leaving      the shopper cancels on Stripe's payment page: expired there, ended here at once
refunds      staff refunds of a payment: recorded, then sent to Stripe
refund_lifecycle  what Stripe's answers and refund events do to them, refunds made in Stripe's Dashboard
disputes     disputes of payments, mirrored from Stripe's events, and the staff alert
fulfilment   apply Stripe's answer (credit, expire, failure) and reconcile with Stripe
webhooks     verify, store and process Stripe's deliveries
checks       "check again": one check with Stripe queued per session, run by a worker
orphans      payments for sessions the shop no longer has: recorded for staff, refunded when safe
cleanup      set-based expiry and purge for the beat tasks
transitions  the status rules, checked in one place
"""

from checkout.services.cleanup import (
    checkout_sessions_expire_due,
    checkout_sessions_purge_stale,
    checkout_sessions_sweep_kinds,
)
from checkout.services.fulfilment import (
    Outcome,
    checkout_session_reconcile,
    checkout_session_sync,
    checkout_sessions_reconcile_awaiting,
)
from checkout.services.leaving import checkout_session_leave
from checkout.services.refunds import RefundRefused, checkout_session_refund
from checkout.services.sessions import (
    Offer,
    ReplaceNotConfirmed,
    SessionNotPayable,
    StartResult,
    checkout_lock_shopper,
    checkout_session_cancel,
    checkout_session_end_active,
    checkout_session_follow,
    checkout_session_pay,
    checkout_session_start,
)
from checkout.services.transitions import checkout_session_move
from checkout.services.webhooks import (
    InvalidWebhook,
    WebhookProcessingFailed,
    stripe_webhook_receive,
    stripe_webhook_verify,
    webhook_event_process,
    webhook_events_reprocess,
)

__all__ = [
    "InvalidWebhook", "Offer", "Outcome", "RefundRefused", "ReplaceNotConfirmed", "SessionNotPayable",
    "StartResult", "WebhookProcessingFailed", "checkout_lock_shopper", "checkout_session_cancel",
    "checkout_session_end_active", "checkout_session_follow", "checkout_session_leave", "checkout_session_move",
    "checkout_session_pay", "checkout_session_reconcile", "checkout_session_refund", "checkout_session_start",
    "checkout_session_sync", "checkout_sessions_expire_due", "checkout_sessions_purge_stale",
    "checkout_sessions_reconcile_awaiting", "checkout_sessions_sweep_kinds", "stripe_webhook_receive",
    "stripe_webhook_verify", "webhook_event_process", "webhook_events_reprocess",
]
