"""``sadakat demo``: the whole product on one machine, with no credentials, in about a minute.

Fake Shopify, WooCommerce, Mailchimp and Klaviyo servers (the connectors' own test fakes) stand
in for the platforms. Everything else is the real thing on a SQLite database in the demo folder:
the connect paths, full syncs, signed webhooks through the receiver and the inbox worker, the
scheduled jobs run once, rewards redeemed into real discount codes, and the admin page. Seeded,
so two runs build the same stores; figures that depend on today (pending points, expiry) move
with the date.
"""

from __future__ import annotations

import random
import secrets
import shutil
import signal
import threading
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from werkzeug.security import generate_password_hash
from werkzeug.serving import WSGIRequestHandler, make_server

from integration.accounts import create_account
from integration.app import create_app
from integration.db import write_session
from integration.demo.rewards import redeem_best
from integration.demo.stores import (
    CURRENCY,
    Fakes,
    connect_all,
    fake_platforms,
    shopify_activity,
    woocommerce_activity,
)
from integration.demo.summary import print_summary, summarize
from integration.migrate import upgrade
from integration.models import AdminUser, Reward, RewardKind, Tier
from integration.program import Bonuses, EarnRule, Expiry, ProgramSettings, TierRules
from integration.runtime import Runtime
from integration.segments.definitions import SegmentDefinition, save_segment
from integration.settings import (
    DatabaseSettings,
    JobsSettings,
    SecuritySettings,
    ServerSettings,
    Settings,
    generate_key,
)
from jobs.runs import run_job
from webhooks.worker import drain

ADMIN_EMAIL = "demo@sadakat.example"
ADMIN_PASSWORD = "sadakat-demo"
ACCOUNT_JOBS = ("points-due", "points-expiry", "birthdays", "tiers", "segments-full", "clv")
SEGMENTS = (
    ("Big spenders", {"metric": "spend", "window_days": 365, "op": ">=", "value": 500}),
    ("Has points", {"metric": "points", "op": ">", "value": 0}),
    ("Gold members", {"metric": "tier", "in": ["Gold"]}),
)


def demo_program() -> ProgramSettings:
    """1 point per dollar after discounts, awarded when paid and kept back for the 14-day
    return window; points expire 12 months after they were earned; tiers by 12 months' spend."""
    return ProgramSettings(
        earn=EarnRule(points_per_unit=Decimal(1), rounding="down"),
        award_on="paid",
        return_window_days=14,
        expiry=Expiry(mode="fixed_age", months=12),
        bonuses=Bonuses(signup=50, birthday=100, referral_referrer=200, referral_referee=100,
                        review=25),
        tiers=TierRules(basis="spend", window_months=12, retention_months=6),
    )


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        """The demo prints its own progress; one line per request would bury it."""


def run_demo(directory: str, *, customers: int, port: int, serve: bool, seed: int,
             console: Console) -> None:
    folder = Path(directory).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    holder: dict[str, object] = {}
    http = _bind(port, lambda environ, start: holder["app"](environ, start), console)
    url = f"http://127.0.0.1:{http.server_port}"
    settings = _settings(folder, url)
    (folder / "config.toml").write_text(_config_toml(settings), encoding="utf-8")
    app = create_app(settings)
    holder["app"] = app
    runtime: Runtime = app.extensions["sadakat"]
    threading.Thread(target=http.serve_forever, daemon=True, name="sadakat-demo-app").start()
    try:
        upgrade(runtime.engine)
        account_id = _create_account(runtime)
        rng = random.Random(seed)
        with ExitStack() as stack:
            with console.status("Starting the fake Shopify, WooCommerce, Mailchimp and Klaviyo"):
                fakes = stack.enter_context(fake_platforms(customers, seed))
            _run(runtime, account_id, fakes, url, customers, rng, console, folder)
            console.print(f"Admin page: [bold]{url}/admin[/]  e-mail [bold]{ADMIN_EMAIL}[/]  "
                          f"password [bold]{ADMIN_PASSWORD}[/]")
            if serve:
                console.print("The fake platforms and the app keep running; Ctrl-C stops them.")
                _wait_for_interrupt()
    finally:
        http.shutdown()
        http.server_close()
        runtime.close()


def _run(runtime: Runtime, account_id: int, fakes: Fakes, url: str, customers: int,
         rng: random.Random, console: Console, folder: Path) -> None:
    connections = connect_all(runtime, account_id, fakes, url)
    console.print(f"Connected {', '.join(connections)} (account {account_id})")
    totals = {
        "shopify": fakes.shopify.store.customer_count + fakes.shopify.store.order_count,
        "woocommerce": len(fakes.woocommerce.store.customer_ids()) + len(fakes.woocommerce.store.order_ids()),
    }
    for platform, connection_id in connections.items():
        with _bar(console, f"Full sync: {platform}", totals.get(platform)) as advance:
            _check(run_job(runtime, "sync", connection_id, trigger="demo", on_progress=advance))
    activity = max(customers // 100, 5)
    with console.status("Store activity: new orders and refunds, delivered by signed webhooks"):
        sent = shopify_activity(fakes.shopify, rng, orders=activity, refunds=activity // 2)
        sent += woocommerce_activity(fakes.woocommerce, rng, orders=activity, refunds=activity // 2)
        processed = drain(runtime)
    console.print(f"Webhooks: {sent} signed deliveries received, {processed} processed by the inbox worker")
    for name in ACCOUNT_JOBS:
        with _bar(console, f"Job: {name}", None) as advance:
            _check(run_job(runtime, name, trigger="demo", on_progress=advance))
    for platform, connection_id in connections.items():
        with _bar(console, f"Push: {platform}", None) as advance:
            _check(run_job(runtime, "push", connection_id, trigger="demo", on_progress=advance))
    fakes.woocommerce.drain()  # the site announces the customers our push updated, by webhook
    drain(runtime)
    codes = {platform: redeem_best(runtime, account_id, connections[platform], key=f"demo-{platform}")
             for platform in ("shopify", "woocommerce")}
    with write_session(runtime.engine) as session:
        session.add(AdminUser(account_id=account_id, email=ADMIN_EMAIL, locale="en",
                              password_hash=generate_password_hash(ADMIN_PASSWORD)))
    print_summary(summarize(runtime.engine, account_id, connections, codes), console, folder)


def _create_account(runtime: Runtime) -> int:
    with write_session(runtime.engine) as session:
        account = create_account(session, "Demo Store", currency=CURRENCY, program=demo_program())
        session.add_all([
            Tier(account_id=account.id, name="Bronze", threshold=Decimal(0)),
            Tier(account_id=account.id, name="Silver", threshold=Decimal(300), multiplier=Decimal("1.25"),
                 perks="25% more points"),
            Tier(account_id=account.id, name="Gold", threshold=Decimal(1000), multiplier=Decimal("1.5"),
                 perks="50% more points, free shipping"),
            Reward(account_id=account.id, name="$5 off", kind=RewardKind.FIXED_AMOUNT,
                   points_cost=500, value=Decimal(5), min_order=Decimal(25)),
            Reward(account_id=account.id, name="10% off", kind=RewardKind.PERCENT,
                   points_cost=1000, value=Decimal(10)),
            Reward(account_id=account.id, name="Free shipping", kind=RewardKind.FREE_SHIPPING,
                   points_cost=300),
        ])
        for name, rule in SEGMENTS:
            save_segment(session, account.id, SegmentDefinition(name=name, rule=rule))
        return account.id


def _check(run) -> None:
    if run.status != "succeeded":
        raise RuntimeError(f"job {run.job} {run.scope} {run.status}: {run.error}")


@contextmanager
def _bar(console: Console, description: str, total: int | None):
    """A rich progress bar fed by a job's ``on_progress(advance, total)``."""
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(step: int, of: int | None = None) -> None:
            if of is not None:
                progress.update(task, total=of)
            progress.advance(task, step)

        yield advance
        done = progress.tasks[0].completed
        progress.update(task, total=max(done, 1), completed=max(done, 1))


def _bind(port: int, app, console: Console):
    try:
        return make_server("127.0.0.1", port, app, threaded=True, request_handler=_Quiet)
    except OSError:
        console.print(f"[yellow]Port {port} is taken; using a free one.")
        return make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)


def _settings(folder: Path, url: str) -> Settings:
    port = int(url.rsplit(":", 1)[1])
    return Settings(
        database=DatabaseSettings(url=f"sqlite:///{folder / 'demo.db'}"),
        security=SecuritySettings(secret_key=secrets.token_urlsafe(32), encryption_key=generate_key()),
        server=ServerSettings(port=port, public_url=url),
        jobs=JobsSettings(in_process="no"),  # the demo runs each job itself, once
    )


def _config_toml(settings: Settings) -> str:
    """The demo's settings, so ``sadakat --config <folder>/config.toml ...`` works on its data."""
    return (
        "# Written by `sadakat demo`: the demo database and the keys that read its credentials.\n"
        f'[database]\nurl = "{settings.database.url}"\n\n'
        f'[security]\nsecret_key = "{settings.security.secret_key}"\n'
        f'encryption_key = "{settings.security.encryption_key}"\n\n'
        f'[server]\nport = {settings.server.port}\npublic_url = "{settings.server.public_url}"\n'
    )


def _wait_for_interrupt() -> None:
    # A shell that starts a job in the background makes it ignore SIGINT; the demo promises
    # that Ctrl-C (or ``kill -INT``) stops it wherever it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
