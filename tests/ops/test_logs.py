"""Request ids in the response and in every log line; the three log formats."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ops.logs import JsonFormatter, KeyValueFormatter, RequestIdFilter, request_id_var

REPO = Path(__file__).resolve().parents[2]


def test_a_request_gets_an_id_in_the_response_and_in_its_log_lines(client, db, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    access = [record for record in caplog.records if record.name == "ops.requests"]
    assert len(access) == 1
    assert "method=GET path=/ status=200" in access[0].getMessage()
    assert RequestIdFilter().filter(access[0]) and access[0].request_id == "-"  # the context ended with the request


def test_the_id_is_the_same_in_every_line_logged_while_the_request_runs(client, shopper, caplog):
    seen = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append((record.name, record.request_id))

    handler = Capture()
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)
    try:
        client.post("/accounts/login/", {"username": shopper.email, "password": "wrong"},
                    headers={"X-Request-ID": "lb-4f1c2a9e-0001"})
    finally:
        logging.getLogger().removeHandler(handler)

    assert ("ops.requests", "lb-4f1c2a9e-0001") in seen
    assert {request_id for _, request_id in seen} == {"lb-4f1c2a9e-0001"}


@pytest.mark.parametrize("header", ["short", "has spaces in it", "x" * 65, 'quote"d-value-123'])
def test_an_unusable_incoming_id_is_replaced(client, db, header):
    response = client.get("/", headers={"X-Request-ID": header})

    assert response["X-Request-ID"] != header
    assert len(response["X-Request-ID"]) == 32


def make_record(message="paid order=%s", args=("ab12",), **extra):
    record = logging.LogRecord("orders", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    token = request_id_var.set("req-1234abcd")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    return record


def test_json_lines_carry_the_id_the_message_and_extras():
    line = json.loads(JsonFormatter().format(make_record(points=450)))

    assert (line["level"], line["logger"], line["request_id"], line["message"], line["points"]) == (
        "INFO", "orders", "req-1234abcd", "paid order=ab12", 450)


def test_key_value_lines_quote_what_needs_quoting():
    line = KeyValueFormatter().format(make_record("shopper said %s", ('"hi" there',)))

    assert " level=INFO logger=orders request_id=req-1234abcd " in line
    assert line.endswith('msg="shopper said \\"hi\\" there"')


@pytest.mark.parametrize("log_format", ["plain", "kv", "json"])
def test_log_format_is_chosen_by_the_environment(log_format):
    code = ("import logging, django; django.setup(); "
            "from ops.logs import request_id_var; request_id_var.set('probe-0001'); "
            "logging.getLogger('probe').warning('hello')")
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": log_format}

    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)

    line = result.stderr.strip().splitlines()[-1]
    if log_format == "json":
        assert json.loads(line)["request_id"] == "probe-0001"
    elif log_format == "kv":
        assert "request_id=probe-0001 msg=hello" in line
    else:
        assert line.endswith("WARNING probe [probe-0001] hello")


def test_an_unknown_log_format_stops_start_up():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": "xml"}

    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 3
    assert result.stderr.startswith("Configuration error: LOG_FORMAT ")


def test_a_task_logs_with_the_id_of_the_request_that_queued_it():
    from celery import current_app

    from ops.logs import HEADER

    captured = {}

    @current_app.task(name="tests.probe_request_id", shared=False)
    def probe():
        captured["id"] = request_id_var.get()

    token = request_id_var.set("req-queued-0001")
    try:
        probe.apply(headers={HEADER: "req-queued-0001"})
    finally:
        request_id_var.reset(token)

    assert captured["id"] == "req-queued-0001"
