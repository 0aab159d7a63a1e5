"""What only the translators' tooling needs: ``pybabel extract`` for rule packs. The wording
itself (catalogs, the Localizer, Babel's figures) is ``engine/wording.py``, below the reports
because the engine words each result's English message with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml


def extract_rule_packs(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A ``pybabel extract`` method for rule packs: titles, descriptions, item words and actions.

    Registered in ``babel.cfg`` for ``rules/**.yaml``.
    """
    data = yaml.safe_load(fileobj.read().decode("utf-8")) or {}
    messages: list[tuple[str, str]] = []
    if isinstance(data.get("title"), str):
        messages.append((data["title"], "pack title"))
    for rule in data.get("rules", []) or []:
        rule_id = rule.get("id", "?")
        for key in ("title", "description", "items", "message"):
            if isinstance(rule.get(key), str):
                messages.append((rule[key], f"{rule_id} {key}"))
        for action in rule.get("actions", []) or []:
            messages.append((action, f"{rule_id} action"))
    for text, comment in messages:
        yield 0, None, text, [comment]
