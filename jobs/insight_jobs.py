"""Jobs that compute what marketers see: segments (with RFM) and predicted customer value."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import select

from integration.analytics.clv import FitError
from integration.analytics.predict import fit_account
from integration.db import read_session, write_session
from integration.models import JobRun, RunStatus
from integration.segments import recompute_account
from jobs.ledger_jobs import active_accounts
from jobs.registry import job
from jobs.runs import JobContext

log = logging.getLogger(__name__)

SEGMENT_JOBS = ("segments", "segments-full")


# A write stamped ``updated_at`` just before a segment run started may commit after the run read
# its snapshot; looking this far back again catches such stragglers on the next run. Looking at a
# customer twice is harmless: an unchanged membership logs no change.
LOOKBACK = timedelta(minutes=5)


def _last_segment_run(ctx: JobContext) -> datetime | None:
    """When the last successful segment run (either kind) started looking at the data, less
    ``LOOKBACK``."""
    with read_session(ctx.runtime.engine) as session:
        run = session.exec(
            select(JobRun)
            .where(JobRun.job.in_(SEGMENT_JOBS), JobRun.status == RunStatus.SUCCEEDED)  # type: ignore[attr-defined]
            .order_by(JobRun.started_at.desc())  # type: ignore[attr-defined]
        ).first()
    if run is None or "through" not in run.counts:
        return None
    return datetime.fromisoformat(run.counts["through"]) - LOOKBACK


def _recompute(ctx: JobContext, since: datetime | None) -> None:
    with read_session(ctx.runtime.engine) as session:
        accounts = [a.id for a in active_accounts(session)]
    ctx.progress(0, len(accounts))
    for account_id in accounts:
        with write_session(ctx.runtime.engine) as session:
            result = recompute_account(session, account_id, ctx.now, since)
        ctx.count("segments", result.segments)
        ctx.count("added", result.added)
        ctx.count("removed", result.removed)
        ctx.count("scored", result.scored)
        ctx.progress(1)
    ctx.counts["through"] = ctx.now.isoformat()  # type: ignore[assignment]
    ctx.counts["mode"] = "incremental" if since else "full"  # type: ignore[assignment]


@job("segments", minutes=15)
def segments(ctx: JobContext) -> None:
    """Recompute segments for customers changed since the last segment run (full on first run)."""
    _recompute(ctx, _last_segment_run(ctx))


@job("segments-full", minutes=1440)
def segments_full(ctx: JobContext) -> None:
    """Recompute every segment and RFM score from scratch (catches time-driven moves)."""
    _recompute(ctx, None)


@job("clv", minutes=1440)
def clv(ctx: JobContext) -> None:
    """Fit BG/NBD + Gamma-Gamma per account; store predicted_clv, p_alive, expected_orders_90d."""
    settings = ctx.runtime.settings.jobs
    with read_session(ctx.runtime.engine) as session:
        accounts = [a.id for a in active_accounts(session)]
    ctx.progress(0, len(accounts))
    for account_id in accounts:
        try:
            with write_session(ctx.runtime.engine) as session:
                fit = fit_account(session, account_id, ctx.now,
                                  horizon_months=settings.clv_horizon_months,
                                  annual_discount=settings.clv_annual_discount)
        except FitError as exc:
            log.info("account %s: no CLV fit: %s", account_id, exc)
            ctx.count("accounts_without_fit")
        else:
            ctx.count("accounts_fitted")
            ctx.count("customers", fit.customers)
        ctx.progress(1)
