"""HTML rendering with Jinja (autoescaped: shop names and buyer text are untrusted)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from seller_health.engine.results import CheckResult
from seller_health.engine.text import format_value
from seller_health.timeutil import format_instant

_env = Environment(
    loader=PackageLoader("seller_health.builtin_templates", ""),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["value"] = format_value
_env.filters["instant"] = format_instant


def render_html(result: CheckResult) -> str:
    return _env.get_template("check.html").render(result=result)
