"""The synthetic data generator (bench/datagen.py) writes valid, reproducible import data.

Benchmarks, demos and end-to-end tests all trust these files: a row that breaks the import
format would make them fail for the wrong reason, and a generator that is not deterministic would
make benchmark runs incomparable. The committed example data set must also be exactly what its
README command regenerates, and its troubled accounts must stay troubled.
"""

from __future__ import annotations

import csv
import filecmp
import importlib.util
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-01T00:00:00Z"
T = datetime.fromisoformat(AS_OF)
FILES = ("accounts.csv", "orders.csv", "messages.csv", "events.csv")

REQUIRED = {
    "accounts.csv": ("account_id", "marketplace"),
    "orders.csv": ("account_id", "order_id", "purchased_at", "status", "fulfillment"),
    "messages.csv": ("account_id", "message_id", "thread_id", "sent_at", "direction"),
    "events.csv": ("account_id", "event_id", "kind", "occurred_at"),
}
INSTANT_COLUMNS = {
    "orders.csv": (
        "purchased_at",
        "ship_by",
        "shipped_at",
        "deliver_by",
        "delivered_at",
        "cancelled_at",
        "refunded_at",
    ),
    "messages.csv": ("sent_at", "resolved_at"),
    "events.csv": ("occurred_at", "responded_at"),
}
# Instants that record something that happened: in a snapshot taken at as_of they are earlier.
HAPPENED = {
    "purchased_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "refunded_at",
    "sent_at",
    "resolved_at",
    "occurred_at",
    "responded_at",
}
BOOLEANS = {"true", "false", "1", "0"}
KINDS = {
    "feedback",
    "review",
    "a_to_z_claim",
    "chargeback",
    "return_request",
    "inr_case",
    "snad_case",
    "survey",
}
ORDER_REQUIRED_KINDS = KINDS - {"review", "survey"}
SURVEY_RANGES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}


def _load_datagen() -> ModuleType:
    """Import bench/datagen.py by path: bench/ is a scripts folder, not a package."""
    if "datagen" in sys.modules:
        return sys.modules["datagen"]
    spec = importlib.util.spec_from_file_location("datagen", ROOT / "bench" / "datagen.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["datagen"] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


datagen = _load_datagen()


def _read(directory: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(directory / name, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None and moment.utcoffset() is not None, text
    assert "T" in text, f"{text!r} is not a date and time"
    return moment


def _bool(text: str) -> bool | None:
    return None if text == "" else text.lower() in ("true", "1")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("datagen-small")
    datagen.generate(
        out,
        accounts=16,
        orders=12000,
        messages=10000,
        events=4000,
        as_of=AS_OF,
        seed=3,
        trouble_share=0.25,
    )
    return out


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    kwargs = dict(accounts=5, orders=800, messages=700, events=300, as_of=AS_OF)
    datagen.generate(tmp_path / "a", seed=11, **kwargs)
    datagen.generate(tmp_path / "b", seed=11, **kwargs)
    datagen.generate(tmp_path / "c", seed=12, **kwargs)
    for name in FILES:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert not filecmp.cmp(
        tmp_path / "a" / "orders.csv", tmp_path / "c" / "orders.csv", shallow=False
    )


def test_row_counts_are_exact(small: Path) -> None:
    counts = {name: len(_read(small, name)[1]) for name in FILES}
    assert counts == {
        "accounts.csv": 16,
        "orders.csv": 12000,
        "messages.csv": 10000,
        "events.csv": 4000,
    }


def test_zero_and_tiny_sizes(tmp_path: Path) -> None:
    datagen.generate(tmp_path, accounts=3, orders=0, messages=5, events=4, as_of=AS_OF, seed=1)
    assert len(_read(tmp_path, "orders.csv")[1]) == 0
    assert len(_read(tmp_path, "messages.csv")[1]) == 5
    assert len(_read(tmp_path, "events.csv")[1]) == 4


def test_required_columns_and_cells_present(small: Path) -> None:
    for name, required in REQUIRED.items():
        header, rows = _read(small, name)
        assert set(required) <= set(header), name
        for line, row in enumerate(rows, start=2):
            for column in required:
                assert row[column] != "", f"{name}:{line}: empty {column}"


def test_every_instant_has_an_offset_and_nothing_happens_after_as_of(small: Path) -> None:
    offsets: Counter[str] = Counter()
    for name, columns in INSTANT_COLUMNS.items():
        for row in _read(small, name)[1]:
            for column in columns:
                if row[column]:
                    moment = _instant(row[column])
                    offsets["Z" if row[column].endswith("Z") else row[column][-6:]] += 1
                    if column in HAPPENED:
                        assert moment < T, (name, column, row)
    assert len(offsets) > 2, "expected Z and several numeric offsets"


def test_accounts_are_valid(small: Path) -> None:
    rows = _read(small, "accounts.csv")[1]
    assert {r["marketplace"] for r in rows} == set(datagen.MARKETPLACES)
    for r in rows:
        assert r["locale"] in ("", "en", "es", "it", "pt-BR")
        if r["timezone"]:
            datagen.ZoneInfo(r["timezone"])  # a real IANA zone
        for address in filter(None, (a.strip() for a in r["email"].split(","))):
            assert "@" in address


def test_orders_obey_the_format_and_are_consistent(small: Path) -> None:
    accounts = {r["account_id"] for r in _read(small, "accounts.csv")[1]}
    seen: Counter[str] = Counter()
    for r in _read(small, "orders.csv")[1]:
        assert r["account_id"] in accounts
        assert r["status"] in {"pending", "unshipped", "shipped", "delivered", "cancelled"}
        assert r["fulfillment"] in {"merchant", "marketplace"}
        assert r["cancelled_by"] in {"", "buyer", "seller", "marketplace"}
        assert r["tracking_valid"].lower() in BOOLEANS | {""}
        assert len(r["currency"]) == 3 and r["currency"].isupper()
        if r["total"]:
            assert float(r["total"]) > 0
        purchased = _instant(r["purchased_at"])
        ship_by = _instant(r["ship_by"])
        deliver_by = _instant(r["deliver_by"])
        assert timedelta(hours=1) <= ship_by - purchased <= timedelta(days=4)
        assert deliver_by > ship_by
        shipped = _instant(r["shipped_at"]) if r["shipped_at"] else None
        delivered = _instant(r["delivered_at"]) if r["delivered_at"] else None
        cancelled = _instant(r["cancelled_at"]) if r["cancelled_at"] else None
        if shipped:
            assert shipped >= purchased
        if delivered:
            assert shipped and delivered >= shipped
            assert r["tracking_id"]
        if cancelled:
            assert cancelled >= purchased and r["cancelled_by"] and not shipped
        else:
            assert not r["cancelled_by"]
        if r["refunded_at"]:
            assert _instant(r["refunded_at"]) >= purchased
        expected = (
            "cancelled"
            if cancelled
            else "delivered"
            if delivered
            else "shipped"
            if shipped
            else None
        )
        if expected:
            assert r["status"] == expected, r
        else:
            assert r["status"] in ("pending", "unshipped"), r
        if r["tracking_valid"]:
            assert r["tracking_id"]
        seen[r["status"]] += 1
        seen[r["fulfillment"]] += 1
        seen[f"by-{r['cancelled_by']}"] += 1
        seen["late"] += bool(shipped and shipped > ship_by)
        seen["no-tracking"] += bool(shipped and not r["tracking_id"])
        seen["invalid-tracking"] += _bool(r["tracking_valid"]) is False
        seen["refunded"] += bool(r["refunded_at"])
    for key in (
        "unshipped",
        "shipped",
        "delivered",
        "cancelled",
        "merchant",
        "marketplace",
        "by-buyer",
        "by-seller",
        "by-marketplace",
        "late",
        "no-tracking",
        "invalid-tracking",
        "refunded",
    ):
        assert seen[key] > 0, f"no {key} orders"


def test_messages_obey_the_format(small: Path) -> None:
    orders = {(r["account_id"], r["order_id"]) for r in _read(small, "orders.csv")[1]}
    market = {r["account_id"]: r["marketplace"] for r in _read(small, "accounts.csv")[1]}
    seen: Counter[str] = Counter()
    threads: defaultdict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in _read(small, "messages.csv")[1]:
        assert r["direction"] in {"in", "out"}
        assert r["channel"] in {"", "marketplace", "email", "messenger", "chat", "phone"}
        assert r["needs_reply"].lower() in BOOLEANS | {""}
        assert r["automated"].lower() in BOOLEANS | {""}
        if r["direction"] == "in":
            assert not r["agent"] and not r["automated"]
        else:
            assert not r["needs_reply"]
        if r["order_id"]:
            assert (r["account_id"], r["order_id"]) in orders
        if market[r["account_id"]] == "facebook":
            seen["messenger"] += r["channel"] == "messenger"
        seen[r["direction"]] += 1
        seen["automated"] += _bool(r["automated"]) is True
        seen["no-reply-needed"] += _bool(r["needs_reply"]) is False
        seen["agent"] += bool(r["agent"])
        threads[(r["account_id"], r["thread_id"])].append(r)
    for key in ("in", "out", "automated", "no-reply-needed", "agent", "messenger"):
        assert seen[key] > 0, f"no {key} messages"
    delays: list[float] = []
    for messages in threads.values():
        messages.sort(key=lambda m: _instant(m["sent_at"]))
        first = messages[0]
        assert first["direction"] == "in", "threads open with the buyer"
        if resolved := [m["resolved_at"] for m in messages if m["resolved_at"]]:
            assert all(_instant(x) >= _instant(first["sent_at"]) for x in resolved)
        reply = next(
            (m for m in messages if m["direction"] == "out" and _bool(m["automated"]) is not True),
            None,
        )
        if reply:
            delays.append((_instant(reply["sent_at"]) - _instant(first["sent_at"])).total_seconds())
    delays.sort()
    assert any(d > 24 * 3600 for d in delays), "some replies take over 24 h"
    assert delays[len(delays) // 2] < 6 * 3600, "most replies take minutes to hours"
    assert len(delays) < len(threads), "some threads are never answered"


def test_events_obey_the_format(small: Path) -> None:
    orders = {(r["account_id"], r["order_id"]) for r in _read(small, "orders.csv")[1]}
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for r in _read(small, "events.csv")[1]:
        kind = r["kind"]
        assert kind in KINDS
        if kind in ORDER_REQUIRED_KINDS:
            assert r["order_id"], r
        if r["order_id"]:
            assert (r["account_id"], r["order_id"]) in orders
        if kind in ("feedback", "review"):
            assert int(r["rating"]) in range(1, 6)
        elif kind == "survey":
            assert int(r["rating"]) in SURVEY_RANGES[r["survey"]]
        else:
            assert r["rating"] == "" and r["survey"] == ""
        assert r["status"] in {"", "open", "closed", "withdrawn", "removed", "denied", "granted"}
        if r["closed_without_seller_resolution"]:
            assert kind in ("inr_case", "snad_case")
            assert r["closed_without_seller_resolution"].lower() in BOOLEANS
        if r["responded_at"]:
            assert kind == "return_request"
            assert _instant(r["responded_at"]) >= _instant(r["occurred_at"])
        kinds[kind if kind != "survey" else f"survey-{r['survey']}"] += 1
        statuses[r["status"]] += 1
    for kind in (KINDS - {"survey"}) | {"survey-nps", "survey-csat", "survey-ces"}:
        assert kinds[kind] > 0, f"no {kind} events"
    assert statuses["withdrawn"] and statuses["removed"]


def test_ids_unique_per_account(small: Path) -> None:
    accounts = [r["account_id"] for r in _read(small, "accounts.csv")[1]]
    assert len(accounts) == len(set(accounts))
    for name, key in (
        ("orders.csv", "order_id"),
        ("messages.csv", "message_id"),
        ("events.csv", "event_id"),
    ):
        keys = [(r["account_id"], r[key]) for r in _read(small, name)[1]]
        assert len(keys) == len(set(keys)), name


def test_repeat_buyers_exist(small: Path) -> None:
    per_buyer = Counter(
        (r["account_id"], r["buyer_id"]) for r in _read(small, "orders.csv")[1] if r["buyer_id"]
    )
    assert any(n >= 2 for n in per_buyer.values())


def test_trouble_share_sets_the_number_of_troubled_accounts(tmp_path: Path) -> None:
    summary = datagen.generate(
        tmp_path,
        accounts=20,
        orders=500,
        messages=200,
        events=100,
        as_of=AS_OF,
        seed=5,
        trouble_share=0.2,
    )
    assert sum(1 for a in summary.accounts if a["troubles"]) == 4


def test_as_of_needs_an_offset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="offset"):
        datagen.generate(
            tmp_path,
            accounts=1,
            orders=1,
            messages=1,
            events=1,
            as_of="2026-11-01T00:00:00",
            seed=1,
        )


# -- the committed example data set ------------------------------------------------------------

EXAMPLES = ROOT / "examples" / "data"


def _odr(directory: Path) -> dict[str, tuple[int, int]]:
    """Amazon ODR per account: merchant orders of the last 60 days with a defect known at T."""
    window = {
        (r["account_id"], r["order_id"])
        for r in _read(directory, "orders.csv")[1]
        if r["fulfillment"] == "merchant"
        and T - timedelta(days=60) <= _instant(r["purchased_at"]) < T
    }
    defective = {
        (r["account_id"], r["order_id"])
        for r in _read(directory, "events.csv")[1]
        if r["status"] not in ("withdrawn", "removed")
        and _instant(r["occurred_at"]) < T
        and (
            r["kind"] in ("a_to_z_claim", "chargeback")
            or (r["kind"] == "feedback" and r["rating"] in ("1", "2"))
        )
    }
    out: dict[str, tuple[int, int]] = {}
    for account in {a for a, _ in window}:
        mine = {k for k in window if k[0] == account}
        out[account] = (len(mine & defective), len(mine))
    return out


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples/data not generated")
def test_examples_are_what_the_readme_command_writes(tmp_path: Path) -> None:
    datagen.generate_examples(tmp_path)
    for name in FILES:
        assert filecmp.cmp(tmp_path / name, EXAMPLES / name, shallow=False), (
            f"examples/data/{name} differs from `python bench/datagen.py examples/data "
            "--preset examples`: regenerate it and update examples/README.md"
        )


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples/data not generated")
def test_examples_troubled_and_healthy_amazon_accounts() -> None:
    odr = _odr(EXAMPLES)
    bad, total = odr["acme-de"]
    assert bad * 100 >= total, f"acme-de should breach the 1% ODR: {bad}/{total}"
    bad, total = odr["northwind-us"]
    assert bad * 100 < total * 0.75, f"northwind-us should be healthy: {bad}/{total}"
    sizes = sum((EXAMPLES / name).stat().st_size for name in FILES)
    assert sizes < 2_000_000
