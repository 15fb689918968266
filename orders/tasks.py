from celery import shared_task

from orders.services.notifications import order_send_confirmation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_order_confirmation(order_id: str):
    order_send_confirmation(order_id=order_id)


@shared_task(ignore_result=True)
def refund_unfulfillable_order(order_id: str):
    """Kept for messages queued before refunds became checkout's ``submit_refund``: records the refund if it is
    missing and sends it (its key makes it one refund, whoever sends it)."""
    from orders.services.card import order_refund_unfulfillable

    order_refund_unfulfillable(order_id=order_id)
