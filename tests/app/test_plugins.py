"""A marketplace added as a plugin: a toy distribution registers a connector and a rule pack by
entry points, and the installed commands configure, sync and check it with no edit to
seller-health itself. Run in subprocesses, as a user with the plugin installed would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOY = Path(__file__).with_name("toy_plugin")
BROKEN = Path(__file__).with_name("broken_plugin")
AS_OF = "2026-11-01T00:00:00Z"  # the toy's orders are the 30 days before
CONFIG = """
[accounts.toy-shop]
marketplace = "toymart"
shop = "ts"
"""


def _run(
    tmp_path: Path, *args: str, plugin: bool = True, broken: bool = False
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SELLER_HEALTH_DB", None)
    # a distribution's folder on the path: its entry points are installed
    installed = [str(TOY)] * plugin + [str(BROKEN)] * broken
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*installed, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "seller_health", *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "seller-health.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_a_plugin_marketplace_is_configured_synced_and_checked_end_to_end(tmp_path, config):
    checked = _run(tmp_path, "config", "check", "--db", "store.db")
    assert checked.returncode == 0, checked.stderr
    assert "toy-shop: toymart" in checked.stdout

    synced = _run(tmp_path, "sync", "--db", "store.db")
    assert synced.returncode == 0, synced.stderr
    assert "toy-shop orders: fetched 11, stored 10, updated 0, quarantined 1" in synced.stdout
    assert "toy-shop events: fetched 2, stored 2, updated 0, quarantined 0" in synced.stdout
    assert "3 requests" in synced.stdout  # the connector's own counts, through the protocol

    listed = _run(tmp_path, "rules")
    assert "toymart: ToyMart seller standards (toymart accounts;" in listed.stdout

    # 3 of 10 orders cancelled by the seller: 0.30 > 0.25 is a breach (exit 1)
    result = _run(tmp_path, "check", "--db", "store.db", "--format", "json", "--as-of", AS_OF)
    assert result.returncode == 1, result.stderr
    (account,) = json.loads(result.stdout)["accounts"]
    assert (account["account_id"], account["marketplace"]) == ("toy-shop", "toymart")
    rules = {r["rule"]: r for r in account["results"]}
    toy = rules["toymart.cancellation_rate"]
    assert (toy["status"], toy["numerator"], toy["denominator"]) == ("breach", 3, 10)
    assert not any(rule.startswith("amazon.") for rule in rules)  # packs apply by marketplace

    # incremental: the next sync reads from its bookmark less the look-back (no order of the toy
    # is that recent), and nothing is counted twice
    again = _run(tmp_path, "sync", "--db", "store.db")
    assert "toy-shop orders: fetched 1, stored 0, updated 0, quarantined 1" in again.stdout
    rerun = _run(tmp_path, "check", "--db", "store.db", "--format", "json", "--as-of", AS_OF)
    (account,) = json.loads(rerun.stdout)["accounts"]
    assert [r["denominator"] for r in account["results"] if r["rule"].startswith("toy")] == [10]


def test_without_the_plugin_the_marketplace_is_unknown(tmp_path, config):
    refused = _run(tmp_path, "config", "check", "--db", "store.db", plugin=False)
    assert refused.returncode == 2
    assert "accounts.toy-shop" in refused.stderr and "toymart" in refused.stderr
    assert "toymart" not in _run(tmp_path, "rules", plugin=False).stdout


def test_a_broken_plugin_is_named_and_leaves_the_others_working(tmp_path, config):
    synced = _run(tmp_path, "sync", "--db", "store.db", broken=True)
    assert synced.returncode == 0, synced.stderr
    assert "warning: connector plugin brokenmart = broken_market:PLUGIN: cannot be loaded" in (
        synced.stderr
    )
    assert "toy-shop orders: fetched 11" in synced.stdout  # the toy still syncs
    checked = _run(tmp_path, "config", "check", "--db", "store.db", broken=True)
    assert checked.returncode == 0 and "brokenmart" in checked.stderr
