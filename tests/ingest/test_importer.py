"""The file importer, against import-format.md, on SQLite and PostgreSQL (``engine`` fixture)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, select

from seller_health.ingest import importer
from seller_health.ingest.importer import ImportFailed, ImportProblem, import_directory
from seller_health.store.models import Account, Event, Message, Order

ACCOUNTS = """\
account_id,marketplace,name,email,locale,timezone
acme,amazon,Acme Shop,"ops@acme.test, boss@acme.test",pt-BR,America/Sao_Paulo
bolt,ebay,,,,
"""

ORDERS = """\
account_id,order_id,purchased_at,status,fulfillment,ship_by,shipped_at,deliver_by,delivered_at,tracking_id,tracking_valid,cancelled_at,cancelled_by,refunded_at,buyer_id,total,currency
acme,o1,2026-03-01T10:00:00+05:30,shipped,merchant,2026-03-03T00:00:00Z,2026-03-02T09:15:00Z,,,1Z999,TRUE,,,,b1,19.99,eur
acme,o2,2026-03-01T12:00:00Z,cancelled,marketplace,,,,,,0,2026-03-01T13:00:00-03:00,buyer,,,,
bolt,o1,2026-03-02T08:00:00.250000Z,pending,merchant,,,,,,,,,,,1234.5,USD
"""

MESSAGES = """\
account_id,message_id,thread_id,sent_at,direction,order_id,needs_reply,channel,resolved_at,agent,automated
acme,m1,t1,2026-03-01T10:00:00Z,in,o1,,,,,
acme,m2,t1,2026-03-01T11:00:00Z,out,o1,,email,2026-03-01T12:00:00Z,ann,false
acme,m3,t2,2026-03-01T11:30:00Z,in,,false,chat,,,
"""

EVENTS = """\
account_id,event_id,order_id,kind,occurred_at,rating,survey,status,closed_without_seller_resolution,responded_at
acme,e1,o1,feedback,2026-03-05T10:00:00Z,2,,open,,
acme,e2,,review,2026-03-05T11:00:00Z,5,,,,
acme,e3,,survey,2026-03-05T12:00:00Z,0,nps,,,
acme,e4,o2,return_request,2026-03-06T12:00:00Z,,,closed,True,2026-03-07T12:00:00+01:00
"""

ALL = {
    "accounts.csv": ACCOUNTS,
    "orders.csv": ORDERS,
    "messages.csv": MESSAGES,
    "events.csv": EVENTS,
}


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
    return directory


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("accounts", "orders", "messages", "events")
        }


def failure(engine: Engine, directory: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as info:
        import_directory(engine, directory)
    return info.value


def only_problem(error: ImportFailed) -> ImportProblem:
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Happy paths


def test_imports_all_four_files_with_converted_values(engine, tmp_path):
    report = import_directory(engine, write(tmp_path, ALL))

    assert [(r.path.name, r.read, r.inserted, r.updated, r.warnings) for r in report.files] == [
        ("accounts.csv", 2, 2, 0, []),
        ("orders.csv", 3, 3, 0, []),
        ("messages.csv", 3, 3, 0, []),
        ("events.csv", 4, 4, 0, []),
    ]
    assert report["orders"].stored == 3 and report.created_accounts == []
    with Session(engine) as session:
        acme, bolt = session.exec(select(Account).order_by(Account.account_id)).all()
        assert (acme.marketplace, acme.email, acme.locale, acme.timezone) == (
            "amazon",
            "ops@acme.test, boss@acme.test",
            "pt-BR",
            "America/Sao_Paulo",
        )
        assert (bolt.name, bolt.email, bolt.locale, bolt.timezone) == (None, None, "en", "UTC")

        o1 = session.get(Order, ("acme", "o1"))
        assert o1.purchased_at == utc(2026, 3, 1, 4, 30)  # +05:30 converted to UTC
        assert o1.shipped_at == utc(2026, 3, 2, 9, 15) and o1.delivered_at is None
        assert o1.tracking_valid is True and o1.total == Decimal("19.99")
        assert o1.currency == "EUR"  # normalised to upper case
        o2 = session.get(Order, ("acme", "o2"))
        assert o2.tracking_valid is False and o2.cancelled_by == "buyer"
        assert o2.cancelled_at == utc(2026, 3, 1, 16) and o2.total is None and o2.buyer_id is None
        bolt_o1 = session.get(Order, ("bolt", "o1"))  # same order id, other account
        assert bolt_o1.purchased_at == datetime(2026, 3, 2, 8, 0, 0, 250000, tzinfo=UTC)
        assert bolt_o1.total == Decimal("1234.5")

        m1, m2, m3 = session.exec(select(Message).order_by(Message.message_id)).all()
        assert (m1.needs_reply, m1.channel, m1.automated) == (True, "marketplace", None)
        assert (m2.needs_reply, m2.channel, m2.automated, m2.agent) == (None, "email", False, "ann")
        assert m2.resolved_at == utc(2026, 3, 1, 12)
        assert (m3.needs_reply, m3.channel, m3.order_id) == (False, "chat", None)

        e1, e2, e3, e4 = session.exec(select(Event).order_by(Event.event_id)).all()
        assert (e1.kind, e1.rating, e1.status) == ("feedback", 2, "open")
        assert (e2.order_id, e2.rating) == (None, 5)
        assert (e3.survey, e3.rating) == ("nps", 0)
        assert e4.closed_without_seller_resolution is True
        assert e4.responded_at == utc(2026, 3, 7, 11)
    with engine.connect() as conn:  # the raw storage: integer microseconds and 1/10,000 units
        raw = conn.execute(
            text(
                "SELECT purchased_at, total FROM orders"
                " WHERE order_id = 'o1' AND account_id = 'acme'"
            )
        )
        assert raw.one() == (1772339400000000, 199900)


def test_json_lines_accept_native_types(engine, tmp_path):
    lines = {
        "accounts.jsonl": [
            {"account_id": "acme", "marketplace": "etsy", "timezone": "Europe/Rome"}
        ],
        "orders.jsonl": [
            {
                "account_id": "acme",
                "order_id": 1001,
                "purchased_at": "2026-03-01T10:00:00+05:30",
                "status": "shipped",
                "fulfillment": "merchant",
                "tracking_valid": True,
                "total": 19.99,
                "currency": "EUR",
                "ship_by": None,
            },
            {
                "account_id": "acme",
                "order_id": "1002",
                "purchased_at": "2026-03-01T11:00:00Z",
                "status": "pending",
                "fulfillment": "merchant",
                "tracking_valid": 0,
                "total": 5,
            },
        ],
        "events.jsonl": [
            {
                "account_id": "acme",
                "event_id": "e1",
                "order_id": "1001",
                "kind": "feedback",
                "occurred_at": "2026-03-02T10:00:00Z",
                "rating": 4,
                "closed_without_seller_resolution": False,
            },
        ],
    }
    files = {
        name: "\n".join(json.dumps(r) for r in records) + "\n\n" for name, records in lines.items()
    }
    report = import_directory(engine, write(tmp_path, files))

    assert [(r.path.name, r.read) for r in report.files] == [
        ("accounts.jsonl", 1),
        ("orders.jsonl", 2),
        ("events.jsonl", 1),
    ]
    with Session(engine) as session:
        first = session.get(Order, ("acme", "1001"))
        assert first.purchased_at == utc(2026, 3, 1, 4, 30) and first.ship_by is None
        assert first.tracking_valid is True and first.total == Decimal("19.99")
        second = session.get(Order, ("acme", "1002"))
        assert second.tracking_valid is False and second.total == Decimal(5)
        event = session.get(Event, ("acme", "e1"))
        assert event.rating == 4 and event.closed_without_seller_resolution is False
        assert session.get(Account, "acme").timezone == "Europe/Rome"


def test_reimport_is_idempotent(engine, tmp_path):
    directory = write(tmp_path, ALL)
    first = import_directory(engine, directory)
    before = counts(engine)
    second = import_directory(engine, directory)

    assert counts(engine) == before == {"accounts": 2, "orders": 3, "messages": 3, "events": 4}
    assert [r.read for r in second.files] == [r.read for r in first.files]
    assert [(r.inserted, r.updated) for r in second.files] == [(0, r.read) for r in first.files]


def test_repeated_key_last_row_wins_within_and_across_batches(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    rows = [
        f"acme,o{i % 3},2026-03-01T10:00:0{i}Z,pending,merchant,,,,,,,,,,,{i}.00,EUR"
        for i in range(7)
    ]
    orders = ORDERS.splitlines()[0] + "\n" + "\n".join(rows) + "\n"
    report = import_directory(
        engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders})
    )

    assert (report["orders"].read, report["orders"].inserted, report["orders"].updated) == (7, 3, 4)
    with Session(engine) as session:
        totals = {o.order_id: o.total for o in session.exec(select(Order))}
    assert totals == {"o0": Decimal(6), "o1": Decimal(4), "o2": Decimal(5)}


def test_unknown_columns_are_ignored_with_a_warning(engine, tmp_path):
    orders = ORDERS.replace("currency\n", "currency,marketplace_fee\n", 1)
    orders = (
        "\n".join(line + ",0.5" if i else line for i, line in enumerate(orders.splitlines())) + "\n"
    )
    report = import_directory(
        engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders})
    )

    assert report["orders.csv"].warnings == ["unknown column 'marketplace_fee' ignored"]
    assert report.warnings == ["orders.csv: unknown column 'marketplace_fee' ignored"]
    assert counts(engine)["orders"] == 3


def test_without_accounts_file_accounts_are_created_as_other(engine, tmp_path):
    with Session(engine) as session:  # an account already known keeps its marketplace
        session.add(Account(account_id="bolt", marketplace="ebay", name="Bolt"))
        session.commit()
    report = import_directory(
        engine, write(tmp_path, {"orders.csv": ORDERS, "messages.csv": MESSAGES})
    )

    assert report.created_accounts == ["acme"]
    assert str(report).splitlines() == [
        "orders.csv: 3 rows read, 3 stored (3 new, 0 updated)",
        "messages.csv: 3 rows read, 3 stored (3 new, 0 updated)",
        "accounts created with marketplace 'other' (no accounts file): acme",
    ]
    with Session(engine) as session:
        accounts = {
            a.account_id: (a.marketplace, a.name, a.locale, a.timezone)
            for a in session.exec(select(Account))
        }
    assert accounts == {"acme": ("other", None, "en", "UTC"), "bolt": ("ebay", "Bolt", "en", "UTC")}


def test_progress_reports_rows_processed(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    seen: list[int] = []
    import_directory(engine, write(tmp_path, ALL), progress=seen.append)

    assert seen == sorted(seen) and seen[-1] == 12 and 2 in seen


def test_sqlite_bulk_mode_rebuilds_the_indexes(engine, tmp_path, monkeypatch):
    """Large files on SQLite load without secondary indexes, then rebuild them (or roll back)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("bulk mode is SQLite only")
    monkeypatch.setattr(importer, "BULK_MIN_ROWS", 1)
    indexes = {i["name"] for i in inspect(engine).get_indexes("orders")}
    bad_events = EVENTS.replace(
        "feedback,2026-03-05T10:00:00Z,2", "feedback,2026-03-05T10:00:00Z,9"
    )

    failure(engine, write(tmp_path / "bad", {**ALL, "events.csv": bad_events}))
    assert {i["name"] for i in inspect(engine).get_indexes("orders")} == indexes
    import_directory(engine, write(tmp_path / "good", ALL))
    assert {i["name"] for i in inspect(engine).get_indexes("orders")} == indexes
    assert counts(engine)["orders"] == 3


# ---------------------------------------------------------------------------------------------
# Errors: each names file, line and field, and nothing is stored


def test_missing_required_column_names_file_and_column(engine, tmp_path):
    orders = ORDERS.replace(
        "fulfillment,", "", 1
    )  # header only: the rows now have one field too many
    problem = failure(
        engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders})
    ).problems[0]

    assert (problem.file, problem.line, problem.field) == ("orders.csv", 1, "fulfillment")
    assert str(problem) == "orders.csv line 1, field fulfillment: required column is missing"
    assert counts(engine)["accounts"] == 0


def test_timestamp_without_offset_is_an_error_naming_line_and_field(engine, tmp_path):
    orders = ORDERS.replace("2026-03-01T12:00:00Z", "2026-01-01 10:00")
    error = failure(engine, write(tmp_path, {**ALL, "orders.csv": orders}))

    problem = only_problem(error)
    assert (problem.file, problem.line, problem.field) == ("orders.csv", 3, "purchased_at")
    assert str(problem).startswith(
        "orders.csv line 3, field purchased_at: '2026-01-01 10:00' has no UTC offset"
    )
    assert str(error) == str(problem)
    assert counts(engine) == {"accounts": 0, "orders": 0, "messages": 0, "events": 0}


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "field", "message"),
    [
        ("accounts.csv", "acme,amazon", "acme,Amazon", 2, "marketplace", "did you mean 'amazon'?"),
        (
            "accounts.csv",
            "America/Sao_Paulo",
            "Mars/Olympus",
            2,
            "timezone",
            "not an IANA time zone",
        ),
        ("accounts.csv", "pt-BR", "pt_BR", 2, "locale", "BCP 47"),
        ("orders.csv", "shipped,merchant", "sent,merchant", 2, "status", "'sent' is not one of"),
        ("orders.csv", "TRUE", "yes", 2, "tracking_valid", "'yes' is not a boolean"),
        ("orders.csv", "19.99", '"19,99"', 2, "total", "not a decimal number"),
        ("orders.csv", "eur", "euro", 2, "currency", "not an ISO 4217"),
        ("orders.csv", "2026-03-03T00:00:00Z", "2026-03-03", 2, "ship_by", "not a date and time"),
        (
            "messages.csv",
            "11:00:00Z,out",
            "11:00:00Z,sideways",
            3,
            "direction",
            "is not one of in, out",
        ),
        (
            "messages.csv",
            "t1,2026-03-01T10:00:00Z",
            ",2026-03-01T10:00:00Z",
            2,
            "thread_id",
            "is required but empty",
        ),
        (
            "events.csv",
            "e1,o1,feedback",
            "e1,,feedback",
            2,
            "order_id",
            "is required for kind 'feedback'",
        ),
        (
            "events.csv",
            "review,2026-03-05T11:00:00Z,5",
            "review,2026-03-05T11:00:00Z,",
            3,
            "rating",
            "is required for kind 'review'",
        ),
        ("events.csv", "0,nps", "0,", 4, "survey", "is required for kind 'survey'"),
        ("events.csv", "0,nps", "0,ces", 4, "rating", "outside the 1-7 scale of survey 'ces'"),
        (
            "events.csv",
            "feedback,2026-03-05T10:00:00Z,2",
            "feedback,2026-03-05T10:00:00Z,4.5",
            2,
            "rating",
            "not an integer",
        ),
        ("events.csv", "e4,o2,return_request", "e4,o2,refund", 5, "kind", "'refund' is not one of"),
        ("events.csv", ",open,,", ",struck,,", 2, "status", "'struck' is not one of"),
    ],
)
def test_bad_value_names_file_line_and_field(
    engine, tmp_path, file, old, new, line, field, message
):
    assert old in ALL[file]
    error = failure(engine, write(tmp_path, {**ALL, file: ALL[file].replace(old, new, 1)}))

    problem = only_problem(error)
    assert (problem.file, problem.line, problem.field) == (file, line, field)
    assert message in problem.message
    assert counts(engine) == {"accounts": 0, "orders": 0, "messages": 0, "events": 0}


def test_unknown_account_is_an_error_when_accounts_file_exists(engine, tmp_path):
    messages = MESSAGES.replace("acme,m3", "zed,m3")
    problem = only_problem(failure(engine, write(tmp_path, {**ALL, "messages.csv": messages})))

    assert (problem.file, problem.line, problem.field) == ("messages.csv", 4, "account_id")
    assert "account 'zed' is not in accounts.csv" in problem.message
    assert counts(engine)["accounts"] == 0  # the valid, earlier files were rolled back too


def test_both_csv_and_jsonl_for_one_name_is_an_error(engine, tmp_path):
    directory = write(tmp_path, {**ALL, "orders.jsonl": ""})
    problem = only_problem(failure(engine, directory))

    assert "both orders.csv and orders.jsonl" in problem.message
    assert counts(engine)["accounts"] == 0


def test_directory_without_data_files_is_an_error(engine, tmp_path):
    problem = only_problem(failure(engine, write(tmp_path, {"README.txt": "hello"})))
    assert "no data file" in problem.message


def test_json_lines_errors_name_the_line(engine, tmp_path):
    orders = "\n".join(
        [
            json.dumps(
                {
                    "account_id": "acme",
                    "order_id": "o1",
                    "purchased_at": "2026-03-01T10:00:00Z",
                    "status": "pending",
                    "fulfillment": "merchant",
                }
            ),
            "",
            "[1, 2]",
            "{not json",
            json.dumps(
                {
                    "account_id": "acme",
                    "order_id": "o2",
                    "purchased_at": "2026-03-01T10:00:00",
                    "status": "pending",
                    "fulfillment": "merchant",
                    "tracking_valid": "maybe",
                }
            ),
            json.dumps(
                {
                    "account_id": "acme",
                    "order_id": "o3",
                    "purchased_at": "2026-03-01T10:00:00Z",
                    "status": "pending",
                    "fulfillment": "merchant",
                    "total": True,
                }
            ),
        ]
    )
    error = failure(engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.jsonl": orders}))

    assert [(p.file, p.line, p.field) for p in error.problems] == [
        ("orders.jsonl", 3, None),
        ("orders.jsonl", 4, None),
        ("orders.jsonl", 5, "purchased_at"),
        ("orders.jsonl", 5, "tracking_valid"),
        ("orders.jsonl", 6, "total"),
    ]
    assert error.problems[0].message == "is not a JSON object"
    assert error.problems[4].message == "true is not a number"


def test_line_numbers_count_physical_lines_of_multiline_cells(engine, tmp_path):
    accounts = ACCOUNTS.replace("Acme Shop", '"Acme\nShop"').replace('""', '"')
    accounts += "\ncarl,walmart,,,,Nowhere/Town\n"
    problem = only_problem(failure(engine, write(tmp_path, {"accounts.csv": accounts})))

    assert (problem.line, problem.field) == (6, "timezone")  # a blank line and a 2-line cell before


def test_wrong_number_of_fields_is_an_error(engine, tmp_path):
    orders = ORDERS.replace(",b1,19.99,eur", ",b1,19.99")
    problem = only_problem(
        failure(engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders}))
    )

    assert (problem.file, problem.line, problem.field) == ("orders.csv", 2, None)
    assert problem.message == "has 16 fields, the header has 17"


def test_excel_style_csv_with_bom_and_crlf_is_read(engine, tmp_path):
    (tmp_path / "accounts.csv").write_bytes(
        b"\xef\xbb\xbf" + ACCOUNTS.replace("\n", "\r\n").encode()
    )
    report = import_directory(engine, tmp_path)

    assert report["accounts"].read == 2 and report["accounts"].warnings == []


def test_file_level_errors_name_file_and_line(engine, tmp_path):
    bad_quote = ACCOUNTS + 'carl,"walmart"x,,,,\n'
    problem = only_problem(failure(engine, write(tmp_path / "q", {"accounts.csv": bad_quote})))
    assert (problem.file, problem.line) == (
        "accounts.csv",
        4,
    ) and "not valid CSV" in problem.message

    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "accounts.csv").write_bytes(ACCOUNTS.encode() + b"carl,\xff,,,,\n")
    problem = only_problem(failure(engine, tmp_path / "u"))
    assert (problem.file, problem.line, problem.message) == (
        "accounts.csv",
        4,
        "is not valid UTF-8",
    )

    twice = ACCOUNTS.replace("timezone\n", "timezone,name\n", 1).replace(",,,,\n", ",,,,,x\n")
    twice = twice.replace("Sao_Paulo\n", "Sao_Paulo,y\n")
    problem = only_problem(failure(engine, write(tmp_path / "d", {"accounts.csv": twice})))
    assert (problem.line, problem.field, problem.message) == (
        1,
        "name",
        "column appears twice in the header",
    )


def test_problems_are_capped_and_counted(engine, tmp_path):
    rows = "".join(f"acme,o{i},yesterday,pending,merchant,,,,,,,,,,,,\n" for i in range(60))
    orders = ORDERS.splitlines()[0] + "\n" + rows
    error = failure(engine, write(tmp_path, {"accounts.csv": ACCOUNTS, "orders.csv": orders}))

    assert len(error.problems) == importer.MAX_PROBLEMS and error.more == 10
    assert str(error).splitlines()[-1] == "... and 10 more problems"
    assert str(error).splitlines()[0].startswith("orders.csv line 2, field purchased_at: ")


# ---------------------------------------------------------------------------------------------
# Internals that keep the format honest


def test_spec_columns_match_the_store_tables():
    from seller_health.store import models

    for table in (models.Account, models.Order, models.Message, models.Event):
        spec = importer.SPECS[table.__tablename__]
        assert spec.names == tuple(table.__table__.columns.keys())
        assert spec.key == tuple(c.name for c in table.__table__.primary_key.columns)


@pytest.mark.parametrize(
    "cell",
    [
        "2026-03-01T10:00:00Z",
        "2026-03-01t10:00:00+05:30",
        "2026-03-01 10:00Z",
        "2026-03-01T10:00:00.123456-08:00",
        " 2026-03-01T10:00:00Z ",
        "2026-03-01T10",
        "20260301T100000Z",
        "2026-03-01T10:00:00",
        "2026-03-01",
        "2026-13-01T10:00:00Z",
        "now",
    ],
)
def test_fast_and_careful_instant_conversion_agree(cell):
    """The generated converter may only accept what the careful parser accepts, identically."""
    spec = importer.SPECS["events"]
    positions = {name: i for i, name in enumerate(spec.names)}
    row = ["a", "e", "", "review", cell, "5", "", "", "", cell]
    careful, _problems = importer._convert_carefully(spec, positions, row)
    try:
        fast = importer._compile_converter(spec, positions)(row)
    except Exception:
        fast = None
    assert fast is None or fast == careful
    if careful is not None:
        assert careful[4] == importer.parse_instant_micros(cell.strip())


@pytest.mark.parametrize(
    ("cell", "units"),
    [
        ("19.99", 199900),
        ("0", 0),
        ("1234.5", 12345000),
        ("0.00005", 0),
        ("0.00015", 2),
        (".5", 5000),
        ("5.", 50000),
        ("+1.25", 12500),
        ("1e3", None),
        ("-1.00", None),
        ("1,5", None),
        ("١٢", None),
    ],
)
def test_money_parsing(cell, units):
    if units is None:
        with pytest.raises(ValueError):
            importer.parse_money(cell)
    else:
        assert importer.parse_money(cell) == units
