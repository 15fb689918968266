"""``FakeStripeHTTPClient``: stripe-python's HTTP hook, answering from ``stripe_fake.api``.

stripe-python builds every request (form encoding, idempotency keys, retries with backoff) and parses every
answer (objects, typed errors) itself; only the wire is replaced. Tests and operators can make the wire fail
on demand with ``FakeStripeHTTPClient.fail(...)`` (over this transport, or over HTTP with ``stripe_fake.server``):

* ``"server_error"``  -- answer 500 without doing anything (stripe-python retries it);
* ``"connection"``    -- raise ``APIConnectionError`` without doing anything (as a refused connection);
* ``"lost_response"`` -- do the work, then lose the answer (a timeout after Stripe acted: the retry must be
  answered from the idempotency record, not act twice).
"""

import json
import threading
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import stripe

from stripe_fake import api
from stripe_fake.encoding import decode_form
from stripe_fake.store import new_id

FAULT_KINDS = frozenset({"server_error", "connection", "lost_response"})
SERVER_ERROR = {"error": {"type": "api_error", "message": "Fake Stripe: internal error."}}


@dataclass
class _Fault:
    kind: str
    method: str | None
    path: str
    remaining: int


class FakeStripeHTTPClient(stripe.HTTPClient):
    name = "fake_stripe"

    _faults: list[_Fault] = []
    _faults_lock = threading.Lock()
    requests_seen: deque[tuple[str, str]] = deque(maxlen=1000)  # (method, path), newest last

    def __init__(self, *, retry_delay_seconds: float = 0.05):
        super().__init__()
        # The fake answers from the local database, so there is no remote load to back off from; stripe-python's
        # retry logic still runs, just without the half-second-and-up waits.
        self._retry_delay_seconds = retry_delay_seconds

    # --- faults on demand -------------------------------------------------------------------------------------
    @classmethod
    def fail(cls, kind: str, *, method: str | None = None, path: str = "/v1/", times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        with cls._faults_lock:
            cls._faults.append(_Fault(kind, method.lower() if method else None, path, times))

    @classmethod
    def reset(cls) -> None:
        with cls._faults_lock:
            cls._faults.clear()
            cls.requests_seen.clear()

    @classmethod
    def take_fault(cls, method: str, path: str) -> str | None:
        """The fault switched on for this request, if any (counted down), after noting the request as seen."""
        with cls._faults_lock:
            cls.requests_seen.append((method, path))
            for fault in cls._faults:
                if fault.remaining > 0 and fault.method in (None, method) and path.startswith(fault.path):
                    fault.remaining -= 1
                    return fault.kind
        return None

    # --- stripe.HTTPClient contract ---------------------------------------------------------------------------
    def request(self, method, url, headers, post_data=None, *, _usage=None):
        method = method.lower()
        parts = urlsplit(url)
        fault = self.take_fault(method, parts.path)
        if fault == "connection":
            raise stripe.APIConnectionError("Could not connect to Stripe (fake: connection refused).",
                                            should_retry=True)
        if fault == "server_error":
            return respond(500, SERVER_ERROR)

        answered = answer(method, url, headers, post_data)
        if fault == "lost_response":
            raise stripe.APIConnectionError("Timed out reading Stripe's answer (fake: response lost).",
                                            should_retry=True)
        return answered

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise NotImplementedError("The fake Stripe does not stream.")

    def close(self):
        pass

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return self._retry_delay_seconds



def answer(method: str, url: str, headers: dict | None, post_data=None) -> tuple[str, int, dict]:
    """The fake's answer to one API request, as ``(body, status, headers)``: over this transport, or over HTTP
    (``stripe_fake.server``)."""
    parts = urlsplit(url)
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    api_key = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not api_key.startswith(("sk_test_", "rk_test_")):
        return respond(401, {"error": {"type": "invalid_request_error",
                                       "message": "The fake Stripe only accepts test-mode keys."}})
    params = decode_form(post_data if method == "post" else parts.query)
    status, body = api.handle(method, parts.path, params, idempotency_key=headers.get("idempotency-key"))
    return respond(status, body, idempotency_key=headers.get("idempotency-key"))


def respond(status: int, body: dict, *, idempotency_key: str | None = None) -> tuple[str, int, dict]:
    headers = {"Content-Type": "application/json", "Request-Id": new_id("req_", 14)}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return json.dumps(body), status, headers
