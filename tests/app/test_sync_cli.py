"""``seller-health sync`` end to end against a mocked SP-API: summary, exit code, no secrets."""

import httpx
import respx
from click.testing import CliRunner

from seller_health.app.cli import main
from tests.connectors.test_amazon import v2026_order

CONFIG = """
[accounts.acme-us]
marketplace = "amazon"
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "client"
lwa_client_secret_env = "T_LWA_SECRET"
refresh_token_env = "T_REFRESH"
api_url = "https://sp.test"
lwa_url = "https://sp.test/auth/o2/token"
"""


@respx.mock
def test_sync_prints_a_summary_and_never_the_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("T_LWA_SECRET", "lwa-SECRET-1")
    monkeypatch.setenv("T_REFRESH", "Atzr|REFRESH-SECRET-2")
    (tmp_path / "seller-health.toml").write_text(CONFIG)
    respx.post("https://sp.test/auth/o2/token").mock(
        return_value=httpx.Response(200, json={"access_token": "Atza|ACCESS-3", "expires_in": 3600})
    )
    respx.get("https://sp.test/orders/2026-01-01/orders").mock(
        return_value=httpx.Response(
            200, json={"orders": [v2026_order(1), v2026_order(2, createdTime="?")]}
        )
    )
    db = str(tmp_path / "store.db")
    args = ["sync", "--config", str(tmp_path / "seller-health.toml"), "--db", db, "--no-reports"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "acme-us orders: fetched 2, stored 1, updated 0, quarantined 1" in result.output
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("store.db*"))  # with the WAL
    for secret in ("lwa-SECRET-1", "REFRESH-SECRET-2", "ACCESS-3"):
        assert secret not in result.output and secret.encode() not in stored


def test_sync_names_a_missing_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("T_LWA_SECRET", raising=False)
    (tmp_path / "seller-health.toml").write_text(CONFIG)
    args = [
        "sync",
        "--config",
        str(tmp_path / "seller-health.toml"),
        "--db",
        str(tmp_path / "s.db"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "environment variable T_LWA_SECRET is not set" in result.output


def test_sync_names_an_unusable_database_without_its_password(tmp_path, monkeypatch):
    monkeypatch.delenv("SELLER_HEALTH_DB", raising=False)
    config = tmp_path / "seller-health.toml"
    config.write_text('database = "postgresql://u:S3cretPw@h:notaport/db"\n' + CONFIG)
    result = CliRunner().invoke(main, ["sync", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{config}: database: not a database URL" in result.output
    assert "S3cretPw" not in result.output
