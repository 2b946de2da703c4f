"""Webhook ingest: the real receiver under gunicorn vs a bare Flask endpoint under the same server.

Both servers run with the same gunicorn settings (``webhooks.serve.Server``: sync workers,
``--workers``); the bare one answers ``POST /webhooks/shopify`` with 200 and does nothing else.
A load generator in a second process sends signed Shopify ``orders/paid`` deliveries, each a new
event (every request is a fresh inbox insert), in two phases per server:

1. saturation: ``--concurrency`` clients in a closed loop for ``--seconds``: throughput, p50, p99;
2. fixed rate: ``--rate`` requests/s open loop for ``--seconds``: achieved rate, p50, p99.

It prints the figures and the ratio ingest/bare of the saturation throughputs. Goal (issue 3):
ratio >= 0.6 and p99 < 50 ms at 300 requests/s on PostgreSQL.

    python benchmarks/webhook_ingest.py                      # PostgreSQL on 127.0.0.1:5432
    python benchmarks/webhook_ingest.py --database sqlite    # a temporary SQLite file

On PostgreSQL a throw-away database is created on the server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.databases import POSTGRES, throwaway_database  # noqa: E402

SECRET = "shpss_bench_0123456789abcdef"

SERVER = """
import sys
from integration.settings import load_settings
from webhooks.serve import Server, serve
kind, bind, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = load_settings()
options = {"bind": bind, "workers": workers, "loglevel": "warning", "accesslog": None}
if kind == "ingest":
    from connectors.shopify.webhooks import ShopifyWebhooks
    from webhooks.routing import register_handler
    register_handler(ShopifyWebhooks())  # the Shopify connector entry point lands from its branch
    serve(settings, options)
else:
    from flask import Flask

    class Bare(Server):
        def _post_worker_init(self, worker):
            pass  # no embedded inbox worker: there is no inbox

        def load(self):
            app = Flask("bare")

            @app.post("/webhooks/shopify")
            def receive():
                return {"status": "stored"}, 200

            return app

    Bare(settings, options).run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, env: dict[str, str]) -> str:
    """Migrate and create one account with a Shopify connection; returns its shop domain."""
    os.environ.update(env)
    from integration.accounts import add_connection, create_account
    from integration.db import write_session
    from integration.migrate import upgrade
    from integration.runtime import Runtime
    from integration.settings import load_settings

    runtime = Runtime(load_settings())
    upgrade(runtime.engine)
    shop = "bench-store.myshopify.com"
    with write_session(runtime.engine) as session:
        account = create_account(session, "Bench store")
        add_connection(session, runtime.box, account, platform="shopify", external_id=shop,
                       credentials={"access_token": "shpat_bench", "api_secret": SECRET})
    runtime.close()
    return shop


def requests_for(shop: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed ``orders/paid`` deliveries shaped like Shopify's (each a new event id)."""
    from tests.webhook_inbox import shopify_payloads as sp

    out = []
    for i in range(count):
        buyer = sp.customer(10_000 + i % 500, f"buyer{i % 500}@example.com")
        body = json.dumps(sp.order(7_000_000 + i, customer_payload=buyer)).encode()
        digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        out.append((body, {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Hmac-Sha256": digest,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": uuid.uuid4().hex,
            "X-Shopify-Event-Id": uuid.uuid4().hex,
        }))
    return out


def _send(port: int, body: bytes, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/webhooks/shopify", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return time.perf_counter() - started, status


def load(port: int, requests: list, mode: str, concurrency: int, rate: float, seconds: float, out) -> None:
    """Runs in its own process: the load generator."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(10**9))
    end = time.perf_counter() + seconds
    start = time.perf_counter()

    def closed_loop() -> None:
        nonlocal errors
        while time.perf_counter() < end:
            body, headers = requests[next(counter) % len(requests)]
            elapsed, status = _send(port, body, headers)
            with lock:
                latencies.append(elapsed)
                errors += status != 200

    def open_loop(offset: int) -> None:
        nonlocal errors
        interval = concurrency / rate
        due = start + offset / rate
        while due < end:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body, headers = requests[next(counter) % len(requests)]
            elapsed, status = _send(port, body, headers)
            with lock:
                latencies.append(elapsed)
                errors += status != 200
            due += interval

    threads = [
        threading.Thread(target=closed_loop if mode == "closed" else open_loop, args=() if mode == "closed" else (i,))
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    out.put({"count": len(latencies), "errors": errors, "wall": wall, "latencies": latencies})


def measure(port: int, requests: list, mode: str, concurrency: int, rate: float, seconds: float) -> dict:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=load, args=(port, requests, mode, concurrency, rate, seconds, queue))
    proc.start()
    result = queue.get()
    proc.join()
    lat = sorted(result["latencies"])
    return {
        "rps": result["count"] / result["wall"],
        "p50": statistics.median(lat) * 1000 if lat else 0.0,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000 if lat else 0.0,
        "count": result["count"],
        "errors": result["errors"],
    }


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def run_server(kind: str, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, kind, f"127.0.0.1:{port}", str(workers)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )
    wait_ready(port)
    time.sleep(1.0)  # let every worker boot
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=POSTGRES,
                        help="PostgreSQL server URL (a throw-away database is made) or 'sqlite'")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (both servers)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients in the saturation phase")
    parser.add_argument("--rate", type=float, default=300.0, help="requests/s in the fixed-rate phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    args = parser.parse_args()

    from integration.settings import generate_key

    with throwaway_database(args.database) as url:
        env = {
            "SADAKAT_DATABASE__URL": url,
            "SADAKAT_SECURITY__SECRET_KEY": "bench-secret-key-0123456789",
            "SADAKAT_SECURITY__ENCRYPTION_KEY": generate_key(),
            "SADAKAT_LOGGING__LEVEL": "WARNING",
        }
        shop = prepare(url, env)
        requests = requests_for(shop, 13_000)
        warmup, requests = requests[:1000], requests[1000:]
        half = len(requests) // 2  # each phase sends events never sent before
        results = {}
        for kind in ("bare", "ingest"):
            proc, port = run_server(kind, args.workers, env)
            try:  # every worker imports lazily and opens its connections on first use
                measure(port, warmup, "closed", args.concurrency, 0, 3.0)
                results[kind] = {
                    "saturation": measure(port, requests[:half], "closed", args.concurrency, 0, args.seconds),
                    "fixed": measure(port, requests[half:], "open", args.concurrency, args.rate, args.seconds),
                }
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    print(f"webhook ingest on {backend}: gunicorn sync x{args.workers}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for phase, label in (("saturation", f"saturation ({args.concurrency} clients)"),
                         ("fixed", f"fixed rate {args.rate:.0f}/s")):
        for kind in ("bare", "ingest"):
            r = results[kind][phase]
            print(f"  {label:<26} {kind:<7} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  "
                  f"p99 {r['p99']:6.1f} ms  ({r['count']} requests, {r['errors']} errors)")
    ratio = results["ingest"]["saturation"]["rps"] / results["bare"]["saturation"]["rps"]
    fixed = results["ingest"]["fixed"]
    print(f"  ratio ingest/bare (saturation throughput): {ratio:.2f}  (goal >= 0.6)")
    print(f"  ingest p99 at {args.rate:.0f}/s: {fixed['p99']:.1f} ms  (goal < 50 ms), "
          f"achieved {fixed['rps']:.0f} req/s")


if __name__ == "__main__":
    main()
