"""``config init``, ``other`` accounts in the file, and ``config check`` listing every problem."""

from __future__ import annotations

import re
import textwrap

from click.testing import CliRunner

from seller_health.app.cli import main
from seller_health.app.config_check import check_config
from seller_health.app.daemon import wanted_jobs
from seller_health.config import STARTER, load_config


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def _variables(text: str) -> list[str]:
    return re.findall(r'^\w+_env = "(\w+)"', text, flags=re.M)


def test_config_init_writes_a_file_config_check_accepts_but_for_its_variables(
    tmp_path, monkeypatch
):
    path = tmp_path / "seller-health.toml"
    result = run("config", "init", "--output", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text == STARTER
    names = _variables(text)
    assert len(names) == 2  # the Amazon account's two secrets; [smtp] is commented out
    for name in names:
        monkeypatch.delenv(name, raising=False)
    report = check_config(path)
    assert report.problems == [
        f"accounts.my-shop-us.{key}: environment variable {name} is not set"
        for key, name in zip(("lwa_client_secret_env", "refresh_token_env"), names, strict=True)
    ]
    for name in names:
        monkeypatch.setenv(name, "set")
    report = check_config(path)
    assert report.problems == [] and report.warnings == []  # the account has a schedule
    config = load_config(path)
    assert list(config.accounts) == ["my-shop-us"] and list(config.recipients) == ["me"]
    assert config.smtp is None


def test_the_starters_mail_server_works_once_uncommented(tmp_path, monkeypatch):
    smtp = STARTER[STARTER.index("# [smtp]") :]
    uncommented = STARTER.replace(smtp, re.sub(r"^# ", "", smtp, flags=re.M))
    path = tmp_path / "seller-health.toml"
    path.write_text(uncommented, encoding="utf-8")
    for name in _variables(uncommented):
        monkeypatch.setenv(name, "set")
    assert check_config(path).problems == []
    assert load_config(path).smtp is not None


def test_config_init_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seller-health.toml").write_text("# mine\n")
    result = run("config", "init")
    assert result.exit_code == 2
    assert "seller-health.toml already exists: not overwritten" in result.output
    assert (tmp_path / "seller-health.toml").read_text() == "# mine\n"
    result = run("config", "init", "--output", str(tmp_path / "no" / "such" / "dir.toml"))
    assert result.exit_code == 2 and "cannot write" in result.output


def test_other_accounts_are_configured_and_scheduled_like_the_rest(tmp_path):
    path = tmp_path / "seller-health.toml"
    path.write_text(
        textwrap.dedent(
            """
            [accounts.tienda-sol-mx]
            marketplace = "other"
            timezone = "America/Mexico_City"
            schedule = "0 7 * * *"

            [recipients.tienda]
            email = "hola@tiendasol.example.com"
            accounts = ["tienda-sol-mx"]
            """
        )
    )
    config = load_config(path)
    assert config.accounts["tienda-sol-mx"].marketplace == "other"
    assert config.synced_accounts() == {}  # its data comes from files
    assert [job.id for job in wanted_jobs(config)] == ["account:tienda-sol-mx"]
    result = run("config", "check", "--config", str(path))
    assert result.exit_code == 0, result.output
    assert "  tienda-sol-mx: other; '0 7 * * *' (America/Mexico_City)" in result.output
    path.write_text('[accounts.shop]\nmarketplace = "shopify"\n')
    result = run("config", "check", "--config", str(path))
    assert result.exit_code == 2 and "'other'" in result.output  # among those allowed


def test_config_check_lists_three_independent_problems(tmp_path, monkeypatch):
    """A bad schedule, a recipient of an account the file lacks and a missing variable: pydantic
    would stop before the second (it checks recipients once every account is valid), and the
    third is only looked for in a file that validates."""
    monkeypatch.delenv("T_INIT_REFRESH", raising=False)
    monkeypatch.setenv("T_INIT_LWA", "set")
    path = tmp_path / "seller-health.toml"
    path.write_text(
        textwrap.dedent(
            """
            [accounts.acme-us]
            marketplace = "amazon"
            marketplace_ids = ["ATVPDKIKX0DER"]
            lwa_client_id = "amzn1.application-oa2-client.x"
            lwa_client_secret_env = "T_INIT_LWA"
            refresh_token_env = "T_INIT_REFRESH"

            [accounts.acme-ebay]
            marketplace = "ebay"
            schedule = "every morning"

            [recipients.ops]
            email = "ops@example.com"
            accounts = ["acme-us", "acme-uk"]
            """
        )
    )
    result = run("config", "check", "--config", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}: 3 problem(s)",
        f"  {path}: accounts.acme-ebay.schedule: 'every morning': expected 5 fields "
        "(minute hour day month weekday), got 2",
        f"  {path}: recipients.ops.accounts: 'acme-uk' is not an account of this file",
        "  accounts.acme-us.refresh_token_env: environment variable T_INIT_REFRESH is not set",
    ]
    assert "nothing to schedule" not in result.output  # the faulty schedule was set aside


def test_a_file_with_faulty_parts_still_names_each_key(tmp_path):
    """Every part at fault is set aside whole if need be, and what it hid comes out."""
    path = tmp_path / "seller-health.toml"
    path.write_text(
        textwrap.dedent(
            """
            lookback_days = -1
            database_password_env = "A"
            database_password_keyring = "svc:user"

            [accounts.x]
            marketplace = "nowhere"

            [recipients.r]
            email = "r@example.com"
            accounts = ["x"]

            [smtp]
            host = "smtp.example.com"
            port = 0
            username = "u"
            sender = "a@example.com"
            """
        )
    )
    keys = [problem.split(": ")[1] for problem in check_config(path).problems]
    assert keys == [
        "accounts.x",  # no such marketplace: a bare account stands in, for the recipient
        "smtp.port",
        "lookback_days",
        "smtp",  # a username without a password: told once the port is set aside
        "database_password_keyring",  # both ways of giving one secret: told once all else is
        "environment variable A is not set",  # and the secret the rest names is looked for
    ]
