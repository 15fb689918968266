"""Structured logs with a request id.

``request_id`` (ops.middleware) sets the id of the request being served in a context variable; the
``RequestIdFilter`` on the console handler copies it onto every record logged while the request runs (Django's,
the services', the database driver's). Celery tasks carry the id of the request that queued them (a message
header), so a webhook's log lines and the confirmation email's can be found with one search. Outside a request
or task the id is ``-``.

``LOG_FORMAT`` chooses the line format: ``plain`` (for people), ``kv`` (key=value, for grep and most log
shippers) or ``json`` (one object per line).
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Taken from the X-Request-ID header only if it looks like an id: a client must not inject log syntax.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


def request_id_from(header: str | None) -> str:
    if header and _VALID_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _extra(record: logging.LogRecord) -> dict:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD_ATTRIBUTES}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                "request_id": getattr(record, "request_id", "-"), "message": record.getMessage()}
        for key, value in _extra(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                 "request_id": getattr(record, "request_id", "-"), "msg": record.getMessage(), **_extra(record)}
        line = " ".join(f"{key}={_kv_value(value)}" for key, value in pairs.items())
        if record.exc_info:
            line += " exc_info=" + json.dumps(self.formatException(record.exc_info))
        return line


def _kv_value(value) -> str:
    text = str(value)
    if text and not any(character in text for character in ' "=\n\t'):
        return text
    return json.dumps(text)


FORMATTERS = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    "kv": {"()": KeyValueFormatter},
    "json": {"()": JsonFormatter},
}


# --- Celery: the queuing request's id travels with the task ---------------------------------------------------
HEADER = "shop_request_id"


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    @before_task_publish.connect(weak=False)
    def _send_request_id(headers=None, **kwargs):
        if headers is not None and request_id_var.get() != "-":
            headers.setdefault(HEADER, request_id_var.get())

    @task_prerun.connect(weak=False)
    def _enter_task(task=None, task_id=None, **kwargs):
        request = getattr(task, "request", None)
        # A worker finds message headers on the request itself; an eager apply() keeps them under .headers.
        queued_by = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
        task._shop_request_id_token = request_id_var.set(queued_by or task_id or "-")

    @task_postrun.connect(weak=False)
    def _leave_task(task=None, **kwargs):
        token = getattr(task, "_shop_request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
            task._shop_request_id_token = None
