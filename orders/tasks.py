from celery import shared_task

from orders.services.notifications import RECEIPTS_BATCH, order_send_confirmation, receipts_send_due


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_due_receipts():
    """Every receipt due, in batches (orders.services.notifications); queued a second after a payment commits,
    and run by beat every minute."""
    while receipts_send_due() == RECEIPTS_BATCH:
        pass


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_order_confirmation(order_id: str):
    """One order's receipt: messages queued before receipts went out in batches."""
    order_send_confirmation(order_id=order_id)


@shared_task(ignore_result=True)
def refund_unfulfillable_order(order_id: str):
    """Kept for messages queued before refunds became checkout's ``submit_refund``: records the refund if it is
    missing and sends it (its key makes it one refund, whoever sends it)."""
    from orders.services.card import order_refund_unfulfillable

    order_refund_unfulfillable(order_id=order_id)
