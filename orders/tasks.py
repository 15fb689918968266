from celery import shared_task

from orders.services.notifications import order_send_confirmation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_order_confirmation(order_id: str):
    order_send_confirmation(order_id=order_id)
