"""The README's library example runs as written, from the repository's root."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import seller_health as sh

ROOT = Path(__file__).resolve().parents[1]


def _example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use as a library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds one Python example"
    return blocks[0]


def test_the_library_example_runs_and_reports_the_accounts_in_trouble(monkeypatch):
    monkeypatch.chdir(ROOT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_example(), "README.md", "exec"), {})
    out = printed.getvalue()
    listing, _, document = out.partition("{")
    with open(ROOT / "examples" / "data" / "accounts.csv", encoding="utf-8") as accounts:
        expected = sorted(line.split(",")[0] for line in list(accounts)[1:])
    rows = [line.split(" ", 2) for line in listing.splitlines()]
    assert [row[0] for row in rows] == expected  # every account, in order
    breaches = {row[0]: row[2] for row in rows if row[1] == "breach"}
    assert breaches["acme-de"] == "['amazon.order_defect_rate']"
    assert document.startswith('\n  "schema": 1,\n  "as_of": "2026-11-01T00:00:00Z"')


def test_the_public_names_load_on_first_use():
    assert set(sh.__all__) == {*sh._PUBLIC, "__version__"}
    assert set(sh.__all__) <= set(dir(sh))  # so help(seller_health) lists them
    done = subprocess.run(
        [sys.executable, "-c", "import sys, seller_health.store.db; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "seller_health.engine" not in done.stdout  # a part imports without the rest


def test_every_public_name_resolves_and_each_function_says_why():
    for name in sh.__all__:
        value = getattr(sh, name)
        if callable(value) and not isinstance(value, type):
            assert value.__doc__, f"seller_health.{name} has no docstring"
    assert {"open_store", "import_files", "check", "sync", "render", "load_config"} <= set(
        sh.__all__
    )
