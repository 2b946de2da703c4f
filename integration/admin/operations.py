"""Admin pages for what runs behind the program: segments, jobs, the webhook inbox.

Same rules as the other pages: signed in, one account, CSRF on every POST.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from integration import scope
from integration.admin import i18n
from integration.admin.views import bp, signed_in
from integration.app import runtime
from integration.db import utcnow
from integration.errors import RuleError
from integration.models import Connection, JobRun, Segment, SegmentChange, SegmentMember
from integration.segments.definitions import SegmentDefinition, save_segment
from integration.segments.rules import Scope, members_query, parse_rule
from webhooks.models import InboxDelivery, InboxStatus


def preview_count(db: Session, account_id: int, rule: dict) -> int:
    """How many customers a rule selects, without saving anything (order statistics as of the
    last segment recompute, like the saved segments themselves)."""
    members = members_query(parse_rule(rule), Scope(account_id=account_id, now=utcnow()))
    return db.exec(select(func.count()).select_from(members.subquery())).one()


@bp.route("/segments", methods=["GET", "POST"])
@signed_in
def segments(db: Session):
    account_id = g.account.id
    name, rule_text, preview, errors = "", "", None, []
    if request.method == "POST":
        name, rule_text = request.form.get("name", "").strip(), request.form.get("rule", "")
        try:
            rule = json.loads(rule_text)
            if request.form.get("action") == "save":
                save_segment(db, account_id, SegmentDefinition(name=name, rule=rule))
                flash(i18n.t("saved"), "ok")
                return redirect(url_for("admin.segments"))
            preview = preview_count(db, account_id, rule)
        except json.JSONDecodeError as exc:
            errors.append(f"rule: not JSON ({exc.msg}, line {exc.lineno})")
        except ValidationError as exc:
            errors.extend(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        except RuleError as exc:
            errors.append(str(exc))
    members = dict(db.exec(select(SegmentMember.segment_id, func.count()).where(
        SegmentMember.account_id == account_id).group_by(SegmentMember.segment_id)).all())
    since = utcnow() - timedelta(days=30)
    changes = db.exec(
        select(SegmentChange.segment_id, SegmentChange.change, func.count())
        .where(SegmentChange.account_id == account_id, SegmentChange.created_at >= since)
        .group_by(SegmentChange.segment_id, SegmentChange.change)
    ).all()
    moved: dict[int, dict[str, int]] = {}
    for segment_id, change, count in changes:
        moved.setdefault(segment_id, {})[change] = count
    rows = db.exec(scope.rows(Segment, account_id).order_by(Segment.name)).all()
    return render_template("admin/segments.html", segments=rows, members=members, moved=moved,
                           name=name, rule_text=rule_text, preview=preview, errors=errors)


@bp.get("/jobs")
@signed_in
def jobs(db: Session):
    connection_ids = [c.id for c in db.exec(scope.rows(Connection, g.account.id))]
    runs = db.exec(
        select(JobRun)
        .where((JobRun.account_id == g.account.id) | JobRun.connection_id.in_(connection_ids))  # type: ignore[union-attr]
        .order_by(JobRun.id.desc()).limit(100)  # type: ignore[union-attr]
    ).all()
    from jobs.registry import all_jobs

    per_connection = sorted(name for name, job in all_jobs().items() if job.per_connection)
    connections = db.exec(scope.rows(Connection, g.account.id)).all()
    return render_template("admin/jobs.html", runs=runs, per_connection=per_connection,
                           connections=connections)


@bp.post("/jobs/run")
@signed_in
def run_job_now(db: Session):
    from jobs.registry import UnknownJob, get_job
    from jobs.runs import run_job

    connection = scope.get(db, Connection, g.account.id, request.form.get("connection", 0, type=int))
    try:
        job = get_job(request.form.get("job", ""))
    except UnknownJob:
        flash("unknown job", "error")
        return redirect(url_for("admin.jobs"))
    if not job.per_connection:
        flash("only a connection's own jobs can be run from here", "error")
        return redirect(url_for("admin.jobs"))
    db.commit()
    run = run_job(runtime(), job.name, connection.id, trigger="admin")
    flash(f"{job.name}: {run.status}", "ok" if run.status != "failed" else "error")
    return redirect(url_for("admin.jobs"))


@bp.get("/inbox")
@signed_in
def inbox(db: Session):
    rows = db.exec(
        select(InboxDelivery).where(
            InboxDelivery.account_id == g.account.id,
            InboxDelivery.status.in_((InboxStatus.FAILED, InboxStatus.DEAD)),  # type: ignore[attr-defined]
        ).order_by(InboxDelivery.id.desc()).limit(200)  # type: ignore[union-attr]
    ).all()
    return render_template("admin/inbox.html", rows=rows)


@bp.post("/inbox/<int:row_id>/replay")
@signed_in
def replay_delivery(db: Session, row_id: int):
    from webhooks.worker import replay

    row = scope.get(db, InboxDelivery, g.account.id, row_id)
    db.commit()
    count = replay(runtime(), [row.id])
    flash(f"{count} {i18n.t('replayed')}", "ok")
    return redirect(url_for("admin.inbox"))
