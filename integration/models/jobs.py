"""The record of every scheduled or manual job run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, text
from sqlmodel import Field, SQLModel

from integration.db import BigId, UTCDateTime, utcnow


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"      # finished, but part of the work was not done (counts say why)
    FAILED = "failed"
    SKIPPED = "skipped"      # the previous run of the same job was still going


class JobRun(SQLModel, table=True):
    """One run of one job, for one connection when the job is per connection.

    ``account_id`` is empty for jobs that sweep every account (expiry, birthdays): a run is an
    operator's record, not a tenant's. ``scope`` names what the run is exclusive over; the partial
    unique index lets only one ``running`` row exist per (job, scope), in every process, so a run
    that overlaps the previous one is refused by the database and recorded as skipped.
    ``heartbeat_at`` is refreshed while the run works; a run whose heartbeat stopped was crashed.
    """

    __tablename__ = "job_run"
    __table_args__ = (
        Index("ix_job_run_job", "job", "started_at"),
        Index("ix_job_run_connection", "connection_id", "started_at"),  # the connections page
        Index(
            "ux_job_run_running", "job", "scope", unique=True,
            sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    job: str = Field(max_length=80)
    scope: str = Field(default="", max_length=80)
    account_id: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", sa_type=BigId)
    trigger: str = Field(default="schedule", max_length=20)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=String(20))
    owner: str = Field(default="", max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    api_calls: int = 0
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
