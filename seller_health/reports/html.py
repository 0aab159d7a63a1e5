"""Renders a report :class:`~seller_health.reports.view.Page` as HTML or plain text.

HTML templates are autoescaped: shop names, buyer-supplied ids and rule text are untrusted.
Templates get the reader's ``_`` (gettext) and nothing else that computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import Engine

from seller_health.engine.pack import Pack, Rule
from seller_health.engine.rules import builtin_packs
from seller_health.engine.wording import localizer
from seller_health.model.results import CheckResult
from seller_health.reports.view import Page, build_page, gather

_LOADER = PackageLoader("seller_health.builtin_templates", "")
HTML_TEMPLATES = Environment(
    loader=_LOADER,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)
TEXT_TEMPLATES = Environment(
    loader=_LOADER,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
TEMPLATES = {"account": "account", "audit": "audit", "digest": "digest"}


def render_page(page: Page, fmt: str = "html") -> str:
    if fmt == "html":
        return HTML_TEMPLATES.get_template(f"{TEMPLATES[page.kind]}.html").render(
            page=page, _=page.t.gettext
        )
    name = "digest.txt" if page.kind == "digest" else "account.txt"
    return TEXT_TEMPLATES.get_template(name).render(page=page, _=page.t.gettext)


def rules_by_id(packs: Sequence[Pack] | None = None) -> dict[str, Rule]:
    return {rule.id: rule for pack in (packs or builtin_packs()) for rule in pack.rules}


def report_page(
    engine: Engine,
    result: CheckResult,
    *,
    kind: str = "account",
    language: str = "en",
    timezone: str = "UTC",
    rules: Mapping[str, Rule] | None = None,
    evidence_rows: int | None = 10,
) -> Page:
    """Gather what the report needs from the store and build the page for one reader."""
    ctx = gather(
        engine,
        result,
        rules=rules or rules_by_id(),
        evidence_rows=evidence_rows,
        audit=kind == "audit",
    )
    return build_page(
        result, ctx, localizer(language, timezone), kind=kind, evidence_rows=evidence_rows
    )


def render_html(engine: Engine, result: CheckResult, **options: object) -> str:
    """The account report of every account in ``result`` (the ``check --format html`` page)."""
    return render_page(report_page(engine, result, **options))  # type: ignore[arg-type]
