"""Fixtures for the simulator tests: a steerable clock, clients, and the official models.

Response shapes are checked against Amazon's published models in
``../shared/fixtures/amazon-models/`` (never copied into the repo). Validation is stricter than the
models themselves: every object schema is closed (``additionalProperties: false``), so a
misspelled or invented field fails, and ``date-time`` strings must be ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker

from seller_health.simulator import SellerAccount, SimulatorConfig, create_app

with warnings.catch_warnings():
    # Starlette 1.x warns that its TestClient will move from httpx to httpx2.
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from starlette.testclient import TestClient

MODELS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "amazon-models"
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CLIENT_ID = "amzn1.application-oa2-client.test"
CLIENT_SECRET = "test-secret"
HEALTHY = "Atzr|healthy-us"
TROUBLED = "Atzr|trouble-de"
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class Clock:
    """The simulator's ``now``: frozen unless a test moves it."""

    def __init__(self, start: datetime = T0) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def make_config(clock: Clock, **overrides: Any) -> SimulatorConfig:
    settings: dict[str, Any] = {
        "seed": 7,
        "accounts": [
            SellerAccount(HEALTHY, "ATVPDKIKX0DER", order_count=450),
            SellerAccount(TROUBLED, "A1PA6795UKMFR9", order_count=450, in_trouble=True),
        ],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "now": clock,
    }
    settings.update(overrides)
    return SimulatorConfig(**settings)


def make_client(config: SimulatorConfig) -> TestClient:
    with warnings.catch_warnings():
        # Starlette 1.x warns that its TestClient will move from httpx to httpx2.
        warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
        return TestClient(create_app(config))


def token_for(client: TestClient, refresh_token: str = HEALTHY) -> dict[str, str]:
    answer = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert answer.status_code == 200, answer.text
    return {"x-amz-access-token": answer.json()["access_token"]}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    with make_client(make_config(clock, rate_scale=1000.0)) as test_client:
        yield test_client


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return token_for(client)


# --- the official models -------------------------------------------------------------------


def _load_model(name: str) -> dict[str, Any]:
    path = MODELS_DIR / name
    if not path.exists():
        reason = f"Amazon models not found at {MODELS_DIR} (they live in ../shared/)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return json.loads(path.read_text(encoding="utf-8"))


def _close_objects(node: Any) -> Any:
    """Forbid undeclared properties everywhere (names in ``required`` count as declared)."""
    if isinstance(node, dict):
        node = {key: _close_objects(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            for name in node.get("required", []):
                node["properties"].setdefault(name, {})
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_close_objects(item) for item in node]
    return node


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _zulu(value: object) -> bool:
        return not isinstance(value, str) or bool(ZULU.match(value))

    return checker


SchemaCheck = Callable[[str, str, Any], None]


@pytest.fixture(scope="session")
def schema_check() -> SchemaCheck:
    """``schema_check(model_file, definition, instance)`` raises on any deviation.

    ``definition`` names an entry of the model's ``definitions``; for the account-health schema
    (a plain JSON schema, not a Swagger model) pass ``""`` to validate against its root.
    """
    cache: dict[tuple[str, str], Any] = {}

    def check(model_file: str, definition: str, instance: Any) -> None:
        key = (model_file, definition)
        if key not in cache:
            model = _close_objects(copy.deepcopy(_load_model(model_file)))
            if definition:
                schema = {
                    "$ref": f"#/definitions/{definition}",
                    "definitions": model["definitions"],
                }
                cache[key] = Draft4Validator(schema, format_checker=_format_checker())
            else:
                model.pop("examples", None)
                cache[key] = Draft7Validator(model, format_checker=_format_checker())
        errors = sorted(cache[key].iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            detail = "\n".join(
                f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in errors[:10]
            )
            raise AssertionError(
                f"{model_file}#{definition or 'root'} rejected the answer:\n{detail}"
            )

    return check
