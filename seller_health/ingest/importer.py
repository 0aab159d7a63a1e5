"""Import a data directory in the seller-data import format (``shared/spec/import-format.md``).

The format is a public interface, so validation follows the spec to the letter: a missing required
column names the file and column; a bad value names the file, the physical line and the field.
The whole import is one transaction: when any problem is found nothing is stored, not even the
rows of earlier, valid files, so a half-imported directory never feeds a check.

Speed matters (millions of rows), so each file gets a row converter generated once from its
header (:func:`_compile_converter`): one Python call per row, columns looked up by precomputed
position, values bound as plain ints/strs/bools. The generated code is only a fast path: when it
raises, the row is converted again field by field by the readable parsers
(:func:`_convert_carefully`), which decide what the problem is; the fast path never accepts what
they would reject. Memory stays flat: rows are read one at a time and written in batches of
:data:`BATCH_ROWS` by :mod:`seller_health.store.bulk` (SQLite: DBAPI ``executemany`` upserts,
with a large file's secondary indexes rebuilt at the end; PostgreSQL: COPY into a staging
table, then one upsert per file).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seller_health.model.marketplaces import marketplaces
from seller_health.store.accounts import create_missing_accounts
from seller_health.store.bulk import BulkLoad, TableLoader, bulk_load, refresh_statistics
from seller_health.store.db import Engine
from seller_health.store.types import MONEY_SCALE, money_to_units
from seller_health.timeutil import EPOCH, parse_instant, to_micros

__all__ = [
    "FILE_NAMES",
    "FileReport",
    "ImportFailed",
    "ImportProblem",
    "ImportReport",
    "import_directory",
]

FILE_NAMES = ("accounts", "orders", "messages", "events")
"""Import order: accounts first, so the other files can be checked against them."""

MAX_PROBLEMS = 50
"""Problems listed in an :class:`ImportFailed`; further ones are only counted."""

BATCH_ROWS = 5000
"""Rows per write: large enough to amortise the call, small enough to keep memory flat."""

MAX_MONEY_UNITS = 2**63 - 1
Row = list[str]
Values = tuple[Any, ...]
ProgressCallback = Callable[[int], None]


# --------------------------------------------------------------------------------------------
# Public results and errors


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the input. ``line`` is the physical line (CSV header = line 1)."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.field is not None:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """The import was rejected and rolled back; ``problems`` lists the first :data:`MAX_PROBLEMS`.

    Not a subclass of the builtin ``ImportError``, which means "a Python module failed to load".
    """

    def __init__(self, problems: list[ImportProblem], more: int = 0) -> None:
        self.problems = problems
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        """One problem a line, as a caller would print it under "nothing was imported:"."""
        lines = [str(problem) for problem in self.problems]
        if self.more:
            lines.append(f"... and {self.more} more problems")
        return "\n".join(lines)


@dataclass
class FileReport:
    """What one file contributed. ``updated`` includes rows replaced by a later row of the file."""

    name: str
    path: Path
    read: int = 0
    inserted: int = 0
    updated: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Rows written to the store, inserted or updated."""
        return self.inserted + self.updated


@dataclass
class ImportReport:
    """The outcome of a successful :func:`import_directory`."""

    files: list[FileReport] = field(default_factory=list)
    created_accounts: list[str] = field(default_factory=list)
    """Accounts created with marketplace ``other`` because the directory has no accounts file."""

    def __getitem__(self, name: str) -> FileReport:
        """A file's report by table name (``"orders"``) or file name (``"orders.csv"``)."""
        for report in self.files:
            if name in (report.name, report.path.name):
                return report
        raise KeyError(name)

    @property
    def warnings(self) -> list[str]:
        return [f"{r.path.name}: {w}" for r in self.files for w in r.warnings]

    @property
    def rows_read(self) -> int:
        return sum(r.read for r in self.files)

    def __str__(self) -> str:
        """A summary for people: one line per file, then warnings and created accounts."""
        lines = [
            f"{r.path.name}: {r.read:,} rows read, {r.stored:,} stored"
            f" ({r.inserted:,} new, {r.updated:,} updated)"
            for r in self.files
        ]
        lines += [f"warning: {warning}" for warning in self.warnings]
        if self.created_accounts:
            created = ", ".join(self.created_accounts)
            lines.append(f"accounts created with marketplace 'other' (no accounts file): {created}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Value parsers. Each takes a non-empty cell and returns the stored value, or raises ValueError
# whose message completes "<file> line N, field F: ...".

_MICROSECOND = timedelta(microseconds=1)
_fromisoformat = datetime.fromisoformat


def parse_instant_micros(text: str) -> int:
    """An instant as integer microseconds, exactly as :func:`timeutil.parse_instant` decides.

    The fast path (one C call plus timedelta arithmetic) handles the usual ``...Z``/``+hh:mm``
    text; anything it does not accept goes through ``parse_instant`` for the verdict and message.
    """
    try:
        if text[10] in "Tt ":
            moment = _fromisoformat(text)
            if moment.tzinfo is not None:
                return (moment - EPOCH) // _MICROSECOND
    except (ValueError, IndexError):
        pass
    return to_micros(parse_instant(text))


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_BOOLEAN_LOOKUP = {
    variant: value
    for word, value in _BOOLEANS.items()
    for variant in (word, word.capitalize(), word.upper())
}


def parse_boolean(text: str) -> bool:
    """``true``/``false`` in any case, or ``1``/``0``."""
    try:
        return _BOOLEANS[text.lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a boolean (use true/false or 1/0)") from None


_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def _parse_money_carefully(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal number (e.g. 1234.50, dot as separator)")
    value = Decimal(text)
    if value < 0:
        raise ValueError(f"{text!r} is negative; an order's value cannot be")
    units = money_to_units(value)
    if units > MAX_MONEY_UNITS:
        raise ValueError(f"{text!r} is too large")
    return units


def parse_money(text: str) -> int:
    """A decimal amount as integer 1/10,000 units (the ``Money`` storage), half-even rounded.

    Plain ``123.45`` is split and converted with ``int`` (several times faster than ``Decimal``);
    everything else goes through the strict, ``Decimal``-based path.
    """
    whole, dot, frac = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and len(whole) <= 14
        and (not dot or (frac.isdigit() and frac.isascii() and len(frac) <= 4))
    ):
        return int(whole) * MONEY_SCALE + (int(frac.ljust(4, "0")) if dot else 0)
    return _parse_money_carefully(text)


_CURRENCIES: dict[str, str] = {}


def parse_currency(text: str) -> str:
    """Three ASCII letters, stored upper-case so ``eur`` and ``EUR`` count as one currency."""
    try:
        return _CURRENCIES[text]
    except KeyError:
        pass
    if len(text) != 3 or not (text.isascii() and text.isalpha()):
        raise ValueError(f"{text!r} is not an ISO 4217 currency code (three letters, e.g. EUR)")
    _CURRENCIES[text] = code = text.upper()  # bounded: at most 52**3 valid spellings
    return code


_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


def parse_integer(text: str) -> int:
    """A whole number; ``4.0`` or ``four`` is a bad value (the scale check is per event kind)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"{text!r} is out of range")
    return value


def parse_timezone(text: str) -> str:
    """An IANA zone name that this machine's zone database knows (``Europe/Rome``, ``UTC``)."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone (e.g. Europe/Rome)") from None
    return text


_BCP47 = re.compile(
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?(?:-(?:[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*",
    re.ASCII,
)


def parse_locale(text: str) -> str:
    """A BCP 47 language tag: language, then optional script, region and variants."""
    if not _BCP47.fullmatch(text):
        hint = f" (BCP 47 uses '-': {text.replace('_', '-')!r})" if "_" in text else ""
        raise ValueError(f"{text!r} is not a BCP 47 language tag such as en or pt-BR{hint}")
    return text


_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+")


def parse_emails(text: str) -> str:
    """One address or a comma-separated list; each must at least look like ``x@y``."""
    for part in text.split(","):
        if not _EMAIL.fullmatch(part.strip()):
            raise ValueError(f"{part.strip()!r} is not an e-mail address")
    return text


def enum_parser(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A parser accepting exactly ``choices`` (case-sensitive, as the spec spells them)."""

    def parse(text: str) -> str:
        if text in choices:
            return text
        hint = f" (did you mean {text.lower()!r}?)" if text.lower() in choices else ""
        raise ValueError(f"{text!r} is not one of {', '.join(choices)}{hint}")

    return parse


# --------------------------------------------------------------------------------------------
# The format: one spec per file, columns in table order.


@dataclass(frozen=True)
class Column:
    """One column of the format and how its text becomes a stored value."""

    name: str
    parse: Callable[[str], Any] | None = None  # None: text stored as is
    required: bool = False
    default: Any = None  # stored for an empty (unknown) cell
    default_if: tuple[str, str] | None = None  # default applies only when column == value
    lookup: Mapping[str, Any] | None = None  # fast exact-match table; misses go to ``parse``
    inline: str | None = None  # fast expression of the cell ``{c}``, see _compile_converter
    json_kind: str = "text"  # which JSON native types are accepted: text/boolean/number/integer


def text_column(name: str, *, required: bool = False) -> Column:
    return Column(name, required=required)


# The fast path of parse_instant_micros as an expression: the generated converter evaluates it
# without a function call. A naive result makes the subtraction raise TypeError, so the row
# goes to the careful path, which then reports the missing offset.
_INSTANT_INLINE = '((_fromiso({c}) - _EPOCH) // _MICRO if {c}[10] in "Tt " else _empty())'


def instant_column(name: str, *, required: bool = False) -> Column:
    return Column(name, parse_instant_micros, required=required, inline=_INSTANT_INLINE)


def boolean_column(
    name: str, *, default: bool | None = None, default_if: tuple[str, str] | None = None
) -> Column:
    return Column(
        name,
        parse_boolean,
        default=default,
        default_if=default_if,
        lookup=_BOOLEAN_LOOKUP,
        json_kind="boolean",
    )


def enum_column(
    name: str, choices: tuple[str, ...], *, required: bool = False, default: str | None = None
) -> Column:
    return Column(
        name,
        enum_parser(choices),
        required=required,
        default=default,
        lookup={choice: choice for choice in choices},
    )


@dataclass(frozen=True)
class FileSpec:
    """A file of the format: its table, key and columns (same names and order as the table)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    check: Callable[[Values], Iterator[tuple[str, str]]] | None = None  # cross-field rules

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


ORDER_STATUSES = ("pending", "unshipped", "shipped", "delivered", "cancelled")
FULFILLMENTS = ("merchant", "marketplace")
PARTIES = ("buyer", "seller", "marketplace")
DIRECTIONS = ("in", "out")
CHANNELS = ("marketplace", "email", "messenger", "chat", "phone")
EVENT_KINDS = (
    "feedback",
    "review",
    "a_to_z_claim",
    "chargeback",
    "return_request",
    "inr_case",
    "snad_case",
    "survey",
)
EVENT_STATUSES = ("open", "closed", "withdrawn", "removed", "denied", "granted")
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
STAR_SCALE = (1, 5)
KINDS_NEEDING_ORDER = frozenset(
    {"feedback", "a_to_z_claim", "chargeback", "return_request", "inr_case", "snad_case"}
)
KINDS_NEEDING_RATING = frozenset({"feedback", "review", "survey"})


def check_event(values: Values) -> Iterator[tuple[str, str]]:
    """The kind-dependent rules of events.csv, on converted values (``None`` = empty cell)."""
    _account, _event, order_id, kind, _at, rating, survey = values[:7]
    if kind in KINDS_NEEDING_ORDER and order_id is None:
        yield "order_id", f"is required for kind {kind!r}"
    if kind == "survey" and survey is None:
        yield "survey", "is required for kind 'survey' (nps, csat or ces)"
    if kind in KINDS_NEEDING_RATING:
        if rating is None:
            yield "rating", f"is required for kind {kind!r}"
            return
        scale = SURVEY_SCALES.get(survey) if kind == "survey" else STAR_SCALE
        if scale and not scale[0] <= rating <= scale[1]:
            what = f"survey {survey!r}" if kind == "survey" else f"kind {kind!r}"
            yield "rating", f"{rating} is outside the {scale[0]}-{scale[1]} scale of {what}"


SPECS: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "accounts",
            ("account_id",),
            (
                text_column("account_id", required=True),
                enum_column("marketplace", marketplaces(), required=True),
                text_column("name"),
                Column("email", parse_emails),
                Column("locale", parse_locale, default="en"),
                Column("timezone", parse_timezone, default="UTC"),
            ),
        ),
        FileSpec(
            "orders",
            ("account_id", "order_id"),
            (
                text_column("account_id", required=True),
                text_column("order_id", required=True),
                instant_column("purchased_at", required=True),
                enum_column("status", ORDER_STATUSES, required=True),
                enum_column("fulfillment", FULFILLMENTS, required=True),
                instant_column("ship_by"),
                instant_column("shipped_at"),
                instant_column("deliver_by"),
                instant_column("delivered_at"),
                text_column("tracking_id"),
                boolean_column("tracking_valid"),
                instant_column("cancelled_at"),
                enum_column("cancelled_by", PARTIES),
                instant_column("refunded_at"),
                text_column("buyer_id"),
                Column("total", parse_money, json_kind="number"),
                Column("currency", parse_currency),
            ),
        ),
        FileSpec(
            "messages",
            ("account_id", "message_id"),
            (
                text_column("account_id", required=True),
                text_column("message_id", required=True),
                text_column("thread_id", required=True),
                instant_column("sent_at", required=True),
                enum_column("direction", DIRECTIONS, required=True),
                text_column("order_id"),
                boolean_column("needs_reply", default=True, default_if=("direction", "in")),
                enum_column("channel", CHANNELS, default="marketplace"),
                instant_column("resolved_at"),
                text_column("agent"),
                boolean_column("automated"),
            ),
        ),
        FileSpec(
            "events",
            ("account_id", "event_id"),
            (
                text_column("account_id", required=True),
                text_column("event_id", required=True),
                text_column("order_id"),
                enum_column("kind", EVENT_KINDS, required=True),
                instant_column("occurred_at", required=True),
                Column("rating", parse_integer, json_kind="integer"),
                enum_column("survey", tuple(SURVEY_SCALES)),
                enum_column("status", EVENT_STATUSES),
                boolean_column("closed_without_seller_resolution"),
                instant_column("responded_at"),
            ),
            check_event,
        ),
    )
}


# --------------------------------------------------------------------------------------------
# Problems


class _Problems:
    """Collects problems; keeps the first :data:`MAX_PROBLEMS` and counts the rest."""

    def __init__(self) -> None:
        self.listed: list[ImportProblem] = []
        self.more = 0

    def add(self, file: str, line: int | None, field_name: str | None, message: str) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(ImportProblem(file, line, field_name, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def fail(self) -> ImportFailed:
        return ImportFailed(self.listed, self.more)


# --------------------------------------------------------------------------------------------
# Row conversion


def _empty() -> Any:
    """Called by generated code on an empty required cell: any exception means "ask carefully"."""
    raise ValueError("empty")


_INLINE_ENV = {
    "_fromiso": _fromisoformat,
    "_EPOCH": EPOCH,
    "_MICRO": _MICROSECOND,
    "_empty": _empty,
}


def _default_value(column: Column, row: Row, positions: Mapping[str, int | None]) -> Any:
    """The stored value of an empty cell: the default, possibly conditional on another column."""
    if column.default_if is None:
        return column.default
    other, expected = column.default_if
    position = positions.get(other)
    return column.default if position is not None and row[position] == expected else None


def _column_expression(
    column: Column, i: int, positions: Mapping[str, int | None], env: dict[str, Any]
) -> str:
    """Python source converting one column of row ``r``; names it uses are put in ``env``."""
    env[f"d{i}"] = column.default
    default = f"d{i}"
    if column.default_if is not None:
        other = positions[column.default_if[0]]
        env[f"w{i}"] = column.default_if[1]
        default = f"(d{i} if r[{other}] == w{i} else None)" if other is not None else "None"
    position = positions[column.name]
    if position is None:
        return default
    cell = f"r[{position}]"
    if column.required and column.lookup is None:
        cell = f"({cell} or _empty())"  # a lookup table has no '' key, so it raises by itself
    if column.lookup is not None:
        env[f"t{i}"] = column.lookup
        converted = f"t{i}[{cell}]"
    elif column.inline is not None:
        converted = column.inline.format(c=cell)
    elif column.parse is not None:
        env[f"p{i}"] = column.parse
        converted = f"p{i}({cell})"
    else:
        converted = cell
    if column.required:
        return converted
    if converted == cell:
        return f"({cell} or {default})"
    return f"({converted} if {cell} else {default})"


def _compile_converter(
    spec: FileSpec, positions: Mapping[str, int | None]
) -> Callable[[Row], Values]:
    """Generate ``convert(row) -> tuple`` for one file layout: one expression per column.

    Generated once per file, it avoids a Python-level loop and a call per cell, which otherwise
    are most of the import time. It may raise anything on unusual input; the caller then falls
    back to :func:`_convert_carefully`, which has the final word. It never accepts a value the
    careful path would reject: its tables and expressions are exact subsets of the parsers.
    """
    env: dict[str, Any] = dict(_INLINE_ENV)
    parts = [_column_expression(column, i, positions, env) for i, column in enumerate(spec.columns)]
    source = "def convert(r):\n    return (" + ", ".join(parts) + ",)\n"
    exec(compile(source, f"<import converter for {spec.name}>", "exec"), env)
    return env["convert"]


def _convert_carefully(
    spec: FileSpec, positions: Mapping[str, int | None], row: Row
) -> tuple[Values | None, list[tuple[str, str]]]:
    """Convert a row cell by cell: the values, or the (field, message) of every bad cell."""
    values: list[Any] = []
    problems: list[tuple[str, str]] = []
    for column in spec.columns:
        position = positions[column.name]
        cell = row[position] if position is not None else ""
        if not cell:
            if column.required:
                problems.append((column.name, "is required but empty"))
            values.append(_default_value(column, row, positions))
            continue
        try:
            values.append(column.parse(cell) if column.parse is not None else cell)
        except ValueError as exc:
            problems.append((column.name, str(exc)))
    return (None if problems else tuple(values)), problems


# --------------------------------------------------------------------------------------------
# Reading files. Both readers yield one list of cells per record and keep ``line_num`` (the last
# physical line read), so one loop serves CSV and JSON Lines.


class _Reader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[Row]: ...


@dataclass
class _Layout:
    """Where each column of the spec sits in the rows of one file (None: column absent)."""

    positions: dict[str, int | None]
    width: int


def _csv_layout(
    spec: FileSpec, file: str, header: Row, report: FileReport, problems: _Problems
) -> _Layout | None:
    """Map the header onto the spec: warn about unknown columns, fail on missing required ones."""
    positions: dict[str, int | None] = dict.fromkeys(spec.names)
    ok = True
    for index, raw_name in enumerate(header):
        name = raw_name.strip()
        if name not in positions:
            report.warnings.append(f"unknown column {name!r} ignored")
        elif positions[name] is not None:
            problems.add(file, 1, name, "column appears twice in the header")
            ok = False
        else:
            positions[name] = index
    for column in spec.columns:
        if column.required and positions[column.name] is None:
            problems.add(file, 1, column.name, "required column is missing")
            ok = False
    return _Layout(positions, len(header)) if ok else None


def _json_cell(value: Any, column: Column) -> str:
    """A JSON value as the CSV cell it stands for, so both formats share one validation."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if column.json_kind == "boolean":
            return "true" if value else "false"
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, float) and column.json_kind == "number":
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number")
        return format(Decimal(repr(value)), "f")
    expected = {"boolean": "a boolean", "number": "a number", "integer": "an integer"}
    raise ValueError(f"{json.dumps(value)} is not {expected.get(column.json_kind, 'a string')}")


class _JsonLinesReader:
    """JSON Lines as rows of cells in spec order. Blank and bad lines come out as ``[]``.

    Yielding exactly one item per physical line keeps line numbers right without extra state.
    """

    def __init__(
        self, handle: Any, spec: FileSpec, file: str, report: FileReport, problems: _Problems
    ) -> None:
        self.handle, self.spec, self.file = handle, spec, file
        self.report, self.problems = report, problems
        self.known = frozenset(spec.names)
        self.unknown: set[str] = set()
        self.line_num = 0

    def __iter__(self) -> Iterator[Row]:
        for text_line in self.handle:
            self.line_num += 1
            yield self._row(text_line) if text_line.strip() else []

    def _row(self, text_line: str) -> Row:
        try:
            record = json.loads(text_line)
        except ValueError as exc:
            self.problems.add(self.file, self.line_num, None, f"is not valid JSON ({exc})")
            return []
        if not isinstance(record, dict):
            self.problems.add(self.file, self.line_num, None, "is not a JSON object")
            return []
        for name in record.keys() - self.known - self.unknown:
            if len(self.unknown) < MAX_PROBLEMS:  # bounded, however many odd keys a file has
                self.unknown.add(name)
                self.report.warnings.append(f"unknown field {name!r} ignored")
        row: Row = []
        for column in self.spec.columns:
            try:
                row.append(_json_cell(record.get(column.name), column))
            except ValueError as exc:
                self.problems.add(self.file, self.line_num, column.name, str(exc))
                return []
        return row


def _open_reader(
    handle: Any, path: Path, spec: FileSpec, report: FileReport, problems: _Problems
) -> tuple[_Reader, _Layout] | None:
    """A reader positioned on the first record, and the layout; None if the header is unusable."""
    if path.suffix == ".jsonl":
        layout = _Layout({name: i for i, name in enumerate(spec.names)}, len(spec.columns))
        return _JsonLinesReader(handle, spec, path.name, report, problems), layout
    reader = csv.reader(handle, strict=True)
    header = next(reader, None)
    if header is None:
        problems.add(path.name, None, None, "file is empty (a header row is required)")
        return None
    csv_layout = _csv_layout(spec, path.name, header, report, problems)
    return (reader, csv_layout) if csv_layout is not None else None


def _first_undecodable_line(path: Path) -> int | None:
    """The physical line holding the first invalid UTF-8 byte.

    Text files decode in chunks ahead of the CSV reader, so the reader's position at the error
    says nothing; this rescans the raw bytes, which only happens on a broken file.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _estimate_rows(path: Path) -> int:
    """Rows in a file, guessed from the line length of its first 64 KiB (cheap, for bulk mode)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        sample = handle.read(65536)
    return size * max(sample.count(b"\n"), 1) // max(len(sample), 1)


# --------------------------------------------------------------------------------------------
# Writing


BULK_MIN_ROWS = 50_000
"""Below this many rows, maintaining indexes row by row is cheaper than rebuilding them."""


def _writer(store: BulkLoad, spec: FileSpec, path: Path, rows_before: int) -> TableLoader:
    """The store's loader for one file, told whether the file dwarfs the rows already there."""
    large = _estimate_rows(path) >= max(BULK_MIN_ROWS, rows_before)
    return store.loader(spec.name, spec.names, spec.key, large=large)


# --------------------------------------------------------------------------------------------
# The import


@dataclass
class _Run:
    """State shared by the files of one import."""

    store: BulkLoad
    problems: _Problems
    progress: ProgressCallback | None
    accounts: set[str]  # known account ids (from the accounts file, or collected)
    accounts_file: str | None  # None: no accounts file, so ids are collected, not checked
    collect_accounts: bool
    processed: int = 0


class _Loader:
    """Validates the rows of one file and, while the import has no problem, stores them."""

    def __init__(self, run: _Run, spec: FileSpec, path: Path, writer: TableLoader) -> None:
        self.run, self.spec, self.path, self.writer = run, spec, path, writer

    def write(self, batch: list[Values]) -> None:
        """Store a batch, unless a problem was found (everything will be rolled back anyway)."""
        run = self.run
        if batch and not run.problems:
            self.writer.write(batch)
        run.processed += len(batch)
        if run.progress is not None:
            run.progress(run.processed)

    def load(self, reader: _Reader, layout: _Layout) -> int:
        """The row loop, kept flat because it runs millions of times. Returns the rows read."""
        run, spec, file = self.run, self.spec, self.path.name
        problems, accounts, width = run.problems, run.accounts, layout.width
        convert = _compile_converter(spec, layout.positions)
        check, is_accounts = spec.check, spec.name == "accounts"
        batch: list[Values] = []
        read = 0
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if len(row) != width:
                if row:
                    read += 1
                    problems.add(
                        file, start, None, f"has {len(row)} fields, the header has {width}"
                    )
                continue
            read += 1
            try:
                values = convert(row)
            except Exception:
                converted, bad = _convert_carefully(spec, layout.positions, row)
                for field_name, message in bad:
                    problems.add(file, start, field_name, message)
                if converted is None:
                    continue
                values = converted
            if values[0] not in accounts:
                if is_accounts or run.collect_accounts:
                    accounts.add(values[0])
                else:
                    problems.add(
                        file,
                        start,
                        "account_id",
                        f"account {values[0]!r} is not in {run.accounts_file}",
                    )
            if check is not None:
                for field_name, message in check(values):
                    problems.add(file, start, field_name, message)
            batch.append(values)
            if len(batch) >= BATCH_ROWS:
                self.write(batch)
                batch = []
        self.write(batch)
        return read


def _import_file(run: _Run, spec: FileSpec, path: Path) -> FileReport:
    """Validate and store one file; its problems go to ``run.problems``."""
    report = FileReport(spec.name, path)
    before = run.store.count(spec.name)
    writer = _writer(run.store, spec, path, before)
    loader = _Loader(run, spec, path, writer)
    reader: _Reader | None = None
    try:
        with path.open(
            encoding="utf-8-sig", newline="" if path.suffix == ".csv" else None
        ) as handle:
            opened = _open_reader(handle, path, spec, report, run.problems)
            if opened is None:
                return report
            reader, layout = opened
            report.read = loader.load(reader, layout)
    except UnicodeDecodeError:
        run.problems.add(path.name, _first_undecodable_line(path), None, "is not valid UTF-8")
    except csv.Error as exc:  # the reader stops at the line it could not parse
        line = reader.line_num if reader is not None else 1
        run.problems.add(path.name, line, None, f"is not valid CSV ({exc})")
    if not run.problems:
        writer.finish()
        report.inserted = run.store.count(spec.name) - before
        report.updated = report.read - report.inserted
    return report


def _find_files(directory: Path, problems: _Problems) -> dict[str, Path]:
    """The data files present, by table name; a .csv and a .jsonl for one name is an error."""
    found: dict[str, Path] = {}
    for name in FILE_NAMES:
        present = [
            path for ext in ("csv", "jsonl") if (path := directory / f"{name}.{ext}").is_file()
        ]
        if len(present) > 1:
            problems.add(
                f"{name}.jsonl",
                None,
                None,
                f"both {name}.csv and {name}.jsonl exist; keep only one of them",
            )
        elif present:
            found[name] = present[0]
    if not found and not problems:
        problems.add(
            str(directory),
            None,
            None,
            "no data file (expected accounts, orders, messages or events, as .csv or .jsonl)",
        )
    return found


def import_directory(
    engine: Engine, directory: str | Path, *, progress: ProgressCallback | None = None
) -> ImportReport:
    """Import ``accounts``, ``orders``, ``messages``, ``events`` (.csv or .jsonl) from a directory.

    Everything is validated before the transaction commits; on any problem it is rolled back and
    :class:`ImportFailed` lists what is wrong. Re-importing the same files changes nothing
    (upsert by primary key). ``progress``, if given, is called with the number of rows processed
    so far, after every batch.
    """
    directory = Path(directory)
    problems = _Problems()
    if not directory.is_dir():
        problems.add(str(directory), None, None, "is not a directory")
        raise problems.fail()
    paths = _find_files(directory, problems)
    if problems:
        raise problems.fail()
    report = ImportReport()
    with bulk_load(engine) as store:
        accounts_file = paths["accounts"].name if "accounts" in paths else None
        run = _Run(store, problems, progress, set(), accounts_file, accounts_file is None)
        for name, path in paths.items():
            report.files.append(_import_file(run, SPECS[name], path))
            if name == "accounts" and problems:
                # A broken accounts file: checking ids against it would only bury its problems
                # under one "unknown account" per row of the other files.
                run.collect_accounts = True
        if problems:
            raise problems.fail()  # leaving the ``with`` block rolls everything back
        if run.collect_accounts:
            report.created_accounts = create_missing_accounts(store.conn, run.accounts)
    refresh_statistics(engine)
    return report
