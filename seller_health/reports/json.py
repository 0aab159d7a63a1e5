"""``check --format json``: the result document of ``report-contract.md`` (schema 1)."""

from __future__ import annotations

import json

from seller_health.engine.wording import describe_forecast
from seller_health.model.document import to_document
from seller_health.model.results import CheckResult


def render_json(result: CheckResult) -> str:
    document = to_document(result, describe=describe_forecast)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
