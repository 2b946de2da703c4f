"""The few SQL expressions SQLite and PostgreSQL spell differently, as SQLAlchemy constructs.

Segments, analytics and jobs compute in the database; these keep their queries portable.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class month_day(FunctionElement):
    """'MM-DD' of a date (birthdays)."""

    type = String()
    inherit_cache = True


class month_of(FunctionElement):
    """Month number 1..12 of a date or timestamp."""

    type = Integer()
    inherit_cache = True


class year_month(FunctionElement):
    """'YYYY-MM' of a timestamp (cohorts, report periods)."""

    type = String()
    inherit_cache = True


class epoch_days(FunctionElement):
    """Days since 1970-01-01 as a float: timestamps turned into numbers that quintiles can rank."""

    type = Float()
    inherit_cache = True


def _arg(compiler, element, **kw) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(month_day, "sqlite")
def _month_day_sqlite(element, compiler, **kw):
    return f"strftime('%m-%d', {_arg(compiler, element, **kw)})"


@compiles(month_day, "postgresql")
def _month_day_pg(element, compiler, **kw):
    return f"to_char({_arg(compiler, element, **kw)}, 'MM-DD')"


@compiles(month_of, "sqlite")
def _month_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%m', {_arg(compiler, element, **kw)}) AS INTEGER)"


@compiles(month_of, "postgresql")
def _month_pg(element, compiler, **kw):
    return f"CAST(EXTRACT(MONTH FROM {_arg(compiler, element, **kw)}) AS INTEGER)"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {_arg(compiler, element, **kw)})"


@compiles(year_month, "postgresql")
def _year_month_pg(element, compiler, **kw):
    return f"to_char({_arg(compiler, element, **kw)}, 'YYYY-MM')"


@compiles(epoch_days, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"(julianday({_arg(compiler, element, **kw)}) - 2440587.5)"


@compiles(epoch_days, "postgresql")
def _epoch_pg(element, compiler, **kw):
    return f"(EXTRACT(EPOCH FROM {_arg(compiler, element, **kw)}) / 86400.0)"
