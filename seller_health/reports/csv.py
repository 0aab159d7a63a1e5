"""``check --format csv``: one row per account and rule, for a spreadsheet."""

from __future__ import annotations

import csv
import io

from seller_health.model.results import CheckResult

CSV_COLUMNS = (
    "account_id",
    "marketplace",
    "account_status",
    "rule",
    "status",
    "value",
    "numerator",
    "denominator",
    "threshold",
    "headroom",
    "message",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_csv(result: CheckResult) -> str:
    """A check as one row per account and rule, for a spreadsheet: figures as the JSON has them
    (a rate as its fraction, a duration in seconds), so they sort and sum as numbers.

    Account ids and a rule file's ids and messages are untrusted: a text cell a spreadsheet
    would run as a formula gets a leading single quote, as OWASP recommends. The numeric
    columns are numbers written by us, so a negative headroom or NPS stays a number.
    """

    def text(value: str) -> str:
        return f"'{value}" if value.startswith(FORMULA_STARTS) else value

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for account in result.accounts:
        for r in account.results:
            threshold = "; ".join(f"{name} {cond}" for name, cond in r.thresholds.items())
            writer.writerow(
                [
                    text(account.account_id),
                    text(account.marketplace),
                    text(account.status),
                    text(r.rule),
                    text(r.status),
                    None if r.value is None else float(r.value),
                    r.numerator,
                    r.denominator,
                    text(threshold),
                    r.headroom,
                    text(r.message),
                ]
            )
    return out.getvalue()
