"""How the fake Stripe's events reach the webhook endpoint: a real HTTP POST, from a background thread.

Why a thread: the demo "Pay" button is handled by a web worker. Delivering synchronously from that request
would need a second free worker to answer the webhook; with one sync gunicorn worker it would wait for itself
until the worker timeout killed it. A daemon thread lets the request return its redirect at once; the POST
waits in the listen backlog until a worker (the same one, if it is the only one) is free -- just as Stripe
delivers independently of the shopper's browser, so the result page really does see "payment pending" first.
A delivery lost with its process (a worker restart) is exactly the lost webhook that the reconcile beat task
and the result page's "check again" recover in production.
"""

import logging
import threading
import time

import requests

logger = logging.getLogger(__name__)

ATTEMPTS = 4
TIMEOUT_SECONDS = 15
FIRST_RETRY_DELAY_SECONDS = 0.5


def deliver_in_background(*, url: str, payload: str, signature: str) -> threading.Thread:
    thread = threading.Thread(target=post_with_retries, kwargs={"url": url, "payload": payload,
                                                                 "signature": signature},
                              name="fake-stripe-webhook", daemon=True)
    thread.start()
    return thread


def post_with_retries(*, url: str, payload: str, signature: str) -> int | None:
    """POST like Stripe: retried with backoff on connection errors and non-2xx answers. Returns the last status."""
    status = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = requests.post(url, data=payload.encode("utf-8"), timeout=TIMEOUT_SECONDS, headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) demo",
            })
            status = response.status_code
            if 200 <= status < 300:
                return status
            logger.warning("Fake Stripe webhook to %s answered %s (attempt %s)", url, status, attempt)
        except requests.RequestException as error:
            logger.warning("Fake Stripe webhook to %s failed: %s (attempt %s)", url, error, attempt)
        if attempt < ATTEMPTS:
            time.sleep(FIRST_RETRY_DELAY_SECONDS * 2 ** (attempt - 1))
    return status
