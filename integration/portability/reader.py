"""Reading import files one row at a time, with errors that say where and what.

Files are streamed (a file of millions of rows never sits in memory). A problem with the file as
a whole (missing column, not UTF-8, not CSV) raises ``ImportFileError`` before anything is
written; a problem with one row becomes a ``RowError`` naming line, column, value and what was
expected, and the importer reports that row as rejected.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from integration.portability.formats import IDENTIFIED_BY, REQUIRED, Mode, SourceFormat, header_key
from integration.records import normalize_email

# Exported free-text fields can be long; the csv module's 128 KiB default is raised for them.
csv.field_size_limit(16 * 1024 * 1024)


class ImportFileError(Exception):
    """The file cannot be imported at all; nothing was written."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        if self.value is not None:
            where += f", value {self.value!r}"
        return f"{where}: expected {self.expected}"


@dataclass(frozen=True)
class ParsedRow:
    line: int
    values: dict[str, Any]


class FieldError(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _points(raw: str | int) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    if "," in text:
        raise FieldError("a whole number of points without thousands separators (52620, not 52,620)")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FieldError("a whole number of points") from None
    if number != number.to_integral_value():
        raise FieldError("a whole number of points")
    return int(number)


def _datetime(raw: str) -> datetime:
    text = str(raw).strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError("an ISO 8601 date-time such as 2024-05-01T12:00:00Z") from None
    # A naive time (WooCommerce's MySQL dates, spreadsheets) is taken as UTC; see the docs.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise FieldError("a date such as 1990-04-30") from None


def _email(raw: str) -> str:
    value = normalize_email(str(raw))
    if value is None or "@" not in value or " " in value or len(value) > 320:
        raise FieldError("an e-mail address")
    return value


def _money(raw: str) -> Decimal:
    try:
        return Decimal(str(raw).strip())
    except InvalidOperation:
        raise FieldError("a decimal number such as 500.00") from None


def _bool(raw: str | bool) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise FieldError("true or false")


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = str(raw).strip()
        if len(value) > limit:
            raise FieldError(f"at most {limit} characters")
        return value

    return parse


PARSERS: dict[str, Callable[[Any], Any]] = {
    "email": _email,
    "ref": _text(120),
    "id": _text(400),
    "points": _points,
    "created_at": _datetime,
    "available_at": _datetime,
    "tier_achieved_at": _datetime,
    "tier_kept_until": _datetime,
    "reason": _text(300),
    "tier": _text(80),
    "kind": _text(20),
    "original_source": _text(200),
    "first_name": _text(200),
    "last_name": _text(200),
    "phone": _text(40),
    "birthday": _date,
    "consent": _text(20),
    "is_guest": _bool,
    "referral_code": _text(32),
    "name": _text(80),
    "threshold": _money,
    "multiplier": _money,
    "perks": _text(500),
}


def resolve_columns(source: SourceFormat, headers: list[str], path: Path) -> dict[str, str]:
    """Map each field of ``source`` to the header that carries it in this file."""
    by_key: dict[str, str] = {}
    for header in headers:
        key = header_key(header)
        if key in by_key:
            raise ImportFileError(
                f"{path}: line 1: column {header!r} appears twice (also as {by_key[key]!r})"
            )
        by_key[key] = header
    columns = {}
    for name, aliases in source.columns.items():
        found = next((by_key[header_key(a)] for a in aliases if header_key(a) in by_key), None)
        if found is not None:
            columns[name] = found
    found_list = ", ".join(repr(h) for h in headers) or "none"
    for name in REQUIRED[source.mode]:
        if name not in columns:
            expected = " or ".join(repr(a) for a in source.columns.get(name, (name,)))
            raise ImportFileError(
                f"{path}: line 1: no {name} column for source {source.name!r}: expected a header "
                f"{expected}; found {found_list}. Map it with --column {name}=HEADER."
            )
    if source.mode != Mode.TIERS and not any(name in columns for name in IDENTIFIED_BY):
        expected = " or ".join(
            repr(a) for name in IDENTIFIED_BY for a in source.columns.get(name, ())
        )
        raise ImportFileError(
            f"{path}: line 1: no column names the customer: expected {expected}; "
            f"found {found_list}. Map one with --column email=HEADER or --column ref=HEADER."
        )
    return columns


def _parse(line: int, raw: dict[str, Any], columns: dict[str, str]) -> ParsedRow | RowError:
    values: dict[str, Any] = {}
    for name, header in columns.items():
        value = raw.get(header)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            values[name] = PARSERS[name](value)
        except FieldError as exc:
            return RowError(line, header, str(value), exc.expected)
    return ParsedRow(line, values)


class ByteCounter:
    """How far into the file the reader is, in bytes, for the progress bar."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw = raw

    @property
    def position(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0


def _decoded_lines(raw: io.BufferedReader, path: Path) -> Iterator[str]:
    """Lines decoded one by one, so a byte that is not UTF-8 is reported at its line."""
    with raw:
        for number, data in enumerate(raw, start=1):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"{path}: line {number}: not UTF-8 text (byte {data[exc.start]:#04x} at "
                    f"position {exc.start + 1}); save the file as UTF-8 and import it again"
                    + ("" if number == 1 else "; rows before this line were processed")
                ) from None
            yield text.removeprefix("\ufeff") if number == 1 else text


def read_rows(
    path: Path, source: SourceFormat
) -> tuple[Iterator[ParsedRow | RowError], ByteCounter, dict[str, str]]:
    """Open ``path`` (CSV, or JSON Lines when it ends in ``.jsonl``) and stream its rows.

    The header is read here, so a file that cannot be imported fails before the first write.
    Returns the rows, the byte position for progress, and which header carries each field.
    """
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed when the lines run out)
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot open: {exc.strerror}") from None
    lines = _decoded_lines(raw, path)
    try:
        if path.suffix == ".jsonl":
            rows, columns = _jsonl_rows(path, lines, source)
        else:
            rows, columns = _csv_rows(path, lines, source)
    except BaseException:
        raw.close()
        raise
    return rows, ByteCounter(raw), columns


def _csv_rows(
    path: Path, lines: Iterator[str], source: SourceFormat
) -> tuple[Iterator[ParsedRow | RowError], dict[str, str]]:
    reader = csv.reader(lines)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError(f"{path}: the file is empty; expected a header line") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path}: line 1: not a CSV header ({exc})") from None
    headers = [h.strip() for h in headers]
    columns = resolve_columns(source, headers, path)
    return _csv_body(path, reader, headers, columns), columns


def _csv_body(
    path: Path, reader, headers: list[str], columns: dict[str, str]
) -> Iterator[ParsedRow | RowError]:
    width = len(headers)
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {start}: not valid CSV ({exc}); rows before it were processed"
            ) from None
        line, start = start, reader.line_num + 1
        if not fields or fields == [""]:
            continue
        if len(fields) != width:
            yield RowError(line, None, None, f"{width} fields, found {len(fields)}")
            continue
        yield _parse(line, dict(zip(headers, fields)), columns)


def _jsonl_rows(
    path: Path, lines: Iterator[str], source: SourceFormat
) -> tuple[Iterator[ParsedRow | RowError], dict[str, str]]:
    # JSON Lines has no header; the keys of the first object stand for it.
    first = next(lines, "")
    if not first.strip():
        raise ImportFileError(f"{path}: the file is empty; expected one JSON object per line")
    try:
        head = json.loads(first)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path}: line 1: not JSON ({exc.msg})") from None
    if not isinstance(head, dict):
        raise ImportFileError(f"{path}: line 1: expected a JSON object")
    columns = resolve_columns(source, list(head), path)
    return _jsonl_body(itertools.chain([first], lines), columns), columns


def _jsonl_body(lines: Iterator[str], columns: dict[str, str]) -> Iterator[ParsedRow | RowError]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RowError(number, None, text.strip()[:80], f"a JSON object ({exc.msg})")
            continue
        if isinstance(obj, dict):
            yield _parse(number, obj, columns)
        else:
            yield RowError(number, None, text.strip()[:80], "a JSON object")
