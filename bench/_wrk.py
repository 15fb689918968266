"""The HTTP side of the page benches (bench/pages.py, bench/balance_fragment.py, bench/admin_pages.py): gunicorn
serving the shop with bench/wallet_bench_settings.py (DEBUG off, persistent connections, ``/bench/bare/``,
``X-Bench-Queries``), and wrk (Debian's ``wrk``: a C client with keep-alive connections, installed here if
absent) driving it.

A Python client caps what it measures: opening a connection per request and running beside the server on two
CPUs, it made a fast page and the bare view look alike (0.75 where wrk measures 0.45). Running this file does
nothing."""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from _common import ROOT, bench_environment

SETTINGS = "bench.wallet_bench_settings"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get (Debian's package) when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: wrk is not installed; installing Debian's package (apt-get install wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench: `{' '.join(command)}` failed; install wrk and run again:\n{done.stderr[-2000:]}")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk is still not on PATH after apt-get install wrk")
    return found


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rate and total and p50 and p99):
        raise SystemExit(f"bench: could not read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return WrkResult(requests_per_second=float(rate.group(1)), p50_ms=_milliseconds(p50.group(1)),
                     p99_ms=_milliseconds(p99.group(1)), requests=int(total.group(1)), errors=errors)


def run_wrk(wrk: str, url: str, headers: dict, *, seconds: float, threads: int = 2,
            connections: int = 8) -> WrkResult:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"bench: wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def start_gunicorn(port: int, workers: int, *, database: str, redis_db: int, extra_env: dict | None = None):
    """gunicorn (sync workers, as in the Procfile) serving bench/wallet_bench_urls.py on 127.0.0.1:``port``."""
    env = {**os.environ, **bench_environment(database=database, redis_db=redis_db, settings=SETTINGS),
           **(extra_env or {})}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--chdir", str(ROOT), "--log-level", "warning", "--timeout", "60",
               "--backlog", "2048"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            if get(port, "/bench/bare/", {}, timeout=2)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer within 60 seconds")


def stop(server) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def check_and_count(port: int, urls: dict, workers: int) -> dict[str, int]:
    """Every page of ``urls`` (label: (path, headers)) answers 200 to the signed-in user (not a redirect to the
    log-in page, which wrk would count as a success); returns the most SQL queries one request of each ran, once
    every worker has served each page."""
    queries = {}
    for label, (path, headers) in urls.items():
        for _ in range(3 * workers):
            status, response_headers, body = get(port, path, headers)
            if status != 200:
                raise SystemExit(f"bench: {label} ({path}) answered {status}: {body[:300]!r}")
        queries[label] = max(int(get(port, path, headers)[1]["X-Bench-Queries"]) for _ in range(2 * workers))
    return queries


def measure(port: int, urls: dict, options, wrk: str) -> dict[str, list]:
    """wrk on each page for ``options.seconds``, one page after another, in ``options.rounds`` rounds (the order
    shifts each round, so a neighbour's burst of load does not always land on the same page)."""
    labels = list(urls)
    results = {label: [] for label in labels}
    for number in range(options.rounds):
        shift = number % len(labels)
        for label in labels[shift:] + labels[:shift]:
            path, headers = urls[label]
            results[label].append(run_wrk(wrk, f"http://127.0.0.1:{port}{path}", headers, seconds=options.seconds,
                                          threads=options.threads, connections=options.connections))
    return results
