"""`sadakat serve` for real: gunicorn with two workers on SQLite, one of which also runs the inbox
worker; a signed WooCommerce delivery over HTTP ends up applied, and /metrics sums the workers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from connectors.woocommerce.connector import WooCommerceSettings
from integration.accounts import add_connection, create_account
from integration.db import make_engine, read_session, write_session
from integration.migrate import upgrade
from integration.crypto import SecretBox
from integration.models import Customer
from integration.settings import generate_key
from tests.conftest import TEST_DATABASE

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec-serve-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the embedded worker is the SQLite deployment")
@pytest.mark.timeout(240)
def test_serve_on_sqlite_receives_and_processes_in_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    key = generate_key()
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        account = create_account(session, "Serve shop")
        plain, secrets = WooCommerceSettings(
            url="https://serve.example.com", consumer_key="ck", consumer_secret="cs",
            webhook_secrets={"1": SECRET}).split()
        connection = add_connection(session, SecretBox(key), account, platform="woocommerce",
                                    external_id="https://serve.example.com", credentials=secrets,
                                    settings=plain)
    port = _free_port()
    env = {**os.environ, "SADAKAT_DATABASE__URL": url, "SADAKAT_SECURITY__ENCRYPTION_KEY": key,
           "SADAKAT_SECURITY__SECRET_KEY": "serve-secret-key-0123456789", "SADAKAT_SERVER__PORT": str(port),
           "SADAKAT_SERVER__WORKERS": "2", "SADAKAT_INBOX__POLL_SECONDS": "0.1",
           "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    sadakat = Path(sys.executable).parent / "sadakat"  # the installed console script
    server = subprocess.Popen([str(sadakat), "serve"], env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, "sadakat serve exited"
            try:
                if requests.get(f"{base}/healthz", timeout=10).ok:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                time.sleep(0.3)
        body = json.dumps({"id": 77, "email": "Served@Example.com", "first_name": "Se",
                           "date_modified_gmt": "2026-11-22T10:00:00", "role": "customer"}).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "customer.created",
                   "X-WC-Webhook-Signature": signature, "X-WC-Webhook-ID": "1",
                   "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex}
        url_path = f"{base}/webhooks/woocommerce/{connection.id}"
        assert requests.post(url_path, data=body, headers=headers, timeout=10).json() == {"status": "stored"}
        assert requests.post(url_path, data=body, headers=headers, timeout=10).json() == {"status": "duplicate"}
        forged = {**headers, "X-WC-Webhook-Signature": base64.b64encode(b"x" * 32).decode()}
        assert requests.post(url_path, data=body, headers=forged, timeout=10).status_code == 401

        customer = None
        while customer is None and time.monotonic() < deadline:
            with read_session(engine) as session:
                customer = session.exec(select(Customer).where(Customer.email == "served@example.com")).first()
            time.sleep(0.2)
        assert customer is not None  # processed by the worker thread inside `sadakat serve`

        metrics = requests.get(f"{base}/metrics", timeout=10).text
        assert 'sadakat_webhooks_received_total{platform="woocommerce",result="stored"} 1.0' in metrics
        assert 'sadakat_webhooks_received_total{platform="woocommerce",result="duplicate"} 1.0' in metrics
        assert 'sadakat_webhooks_rejected_total{platform="woocommerce",reason="bad_signature"} 1.0' in metrics
        assert 'sadakat_inbox_deliveries{status="done"} 1.0' in metrics
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        engine.dispose()
