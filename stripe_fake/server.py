"""The fake Stripe's API over real HTTP on a loopback port, so stripe-python's default transport
(``RequestsClient``, what production uses) can be pointed at it with ``STRIPE_API_BASE``: connection handling,
timeouts and network retries with idempotency keys then run exactly as they do against Stripe.

The faults of ``FakeStripeHTTPClient.fail(...)`` happen on the wire here:

* ``"connection"``    -- the connection is dropped before anything is done (requests: ``ConnectionError``);
* ``"server_error"``  -- 500, nothing done;
* ``"lost_response"`` -- the work is done, then no answer comes until the client's timeout has passed and the
  connection is dropped (requests: ``ReadTimeout``): the retry must be answered from the idempotency record.

Each request is served in its own thread with its own database connection (closed after the request), so the
fake's state must be committed where the server can see it: tests use it with ``transactional_db``.
"""

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connections

from stripe_fake.transport import SERVER_ERROR, FakeStripeHTTPClient, answer, respond


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    idempotency_key: str | None
    stripe_version: str | None


@dataclass
class FakeStripeServer:
    """``with FakeStripeServer(lost_response_seconds=...) as server:`` serves on ``server.base_url`` until the
    block ends; ``server.requests`` lists what arrived, in order."""

    lost_response_seconds: float = 3.0
    requests: list[SeenRequest] = field(default_factory=list)

    def __enter__(self) -> "FakeStripeServer":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-stripe-http", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"


def _handler_for(server: FakeStripeServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as RequestsClient's pooled connections expect

        def do_GET(self):
            self._serve("get")

        def do_POST(self):
            self._serve("post")

        def do_DELETE(self):
            self._serve("delete")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
            path = self.path.split("?", 1)[0]
            server.requests.append(SeenRequest(method, path, self.headers.get("Idempotency-Key"),
                                               self.headers.get("Stripe-Version")))
            fault = FakeStripeHTTPClient.take_fault(method, path)
            if fault == "connection":
                return self._drop()
            if fault == "server_error":
                return self._send(*respond(500, SERVER_ERROR))
            try:
                answered = answer(method, f"http://fake{self.path}", dict(self.headers.items()),
                                  body if method == "post" else None)
            finally:
                connections.close_all()  # this thread's connection; the next request has a thread of its own
            if fault == "lost_response":
                time.sleep(server.lost_response_seconds)
                return self._drop()
            return self._send(*answered)

        def _send(self, body: str, status: int, headers: dict) -> None:
            encoded = body.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def log_message(self, format, *args):  # noqa: A002 -- the base class's signature
            pass  # stripe-python logs every request already

    return Handler
