from celery import shared_task

from wallet.services.receipts import points_purchase_send_receipt


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, ignore_result=True)
def send_points_purchase_receipt(session_id: str):
    points_purchase_send_receipt(session_id=session_id)
