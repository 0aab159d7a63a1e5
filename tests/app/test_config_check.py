"""The configuration's schedules, rules and keyring secrets, and ``seller-health config check``."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

from seller_health.app.cli import main
from seller_health.app.config_check import check_config
from seller_health.config import ConfigError, cron_trigger, load_config

BASE = """
[accounts.acme-us]
marketplace = "amazon"
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.x"
lwa_client_secret_env = "T_CHECK_LWA"
refresh_token_keyring = "seller-health:acme-us"
schedule = "0 */6 * * *"
"""


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[service, username] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection seller-health:acme-us is locked")


@pytest.fixture
def ring():
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


def write(tmp_path, text, name="seller-health.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_secrets_come_from_the_environment_or_the_keyring(tmp_path, monkeypatch, ring):
    account = load_config(write(tmp_path, BASE)).accounts["acme-us"]
    monkeypatch.setenv("T_CHECK_LWA", "lwa-secret")
    ring.set_password("seller-health", "acme-us", "Atzr|from-the-keyring")
    assert account.lwa_client_secret("acme-us") == "lwa-secret"
    assert account.refresh_token("acme-us") == "Atzr|from-the-keyring"
    ring.delete_password("seller-health", "acme-us")
    with pytest.raises(ConfigError, match=r"accounts\.acme-us\.refresh_token_keyring: no keyring"):
        account.refresh_token("acme-us")


def test_a_locked_keyring_names_the_key_and_nothing_else(tmp_path):
    account = load_config(write(tmp_path, BASE)).accounts["acme-us"]
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(ConfigError) as caught:
            account.refresh_token("acme-us")
    finally:
        keyring.set_keyring(previous)
    assert str(caught.value) == (
        "accounts.acme-us.refresh_token_keyring: the system keyring could not be read "
        "(KeyringLocked)"
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            ('refresh_token_keyring = "seller-health:acme-us"', ""),
            "accounts.acme-us.refresh_token_env: missing: give refresh_token_env",
        ),
        (
            (
                'lwa_client_secret_env = "T_CHECK_LWA"',
                'lwa_client_secret_env = "A"\nlwa_client_secret_keyring = "s:u"',
            ),  # fmt: skip
            "accounts.acme-us.lwa_client_secret_keyring: give lwa_client_secret_env or",
        ),
        (
            ('"seller-health:acme-us"', '"seller-health"'),
            'accounts.acme-us.refresh_token_keyring: expected "service:username"',
        ),
        (
            ('"0 */6 * * *"', '"0 */6 * *"'),
            "accounts.acme-us.schedule: '0 */6 * *': expected 5 fields",
        ),
        (
            ('"0 */6 * * *"', '"0 25 * * *"'),
            "accounts.acme-us.schedule: '0 25 * * *': Error validating expression '25'",
        ),
        (
            ('"0 */6 * * *"', '"0 6 * * mon-funday"'),
            "accounts.acme-us.schedule: '0 6 * * mon-funday': bad day of week 'funday'",
        ),
        (
            ('schedule = "0 */6 * * *"', 'rules = "amazon"'),
            "accounts.acme-us.rules: Input should be a valid list",
        ),
        (("[accounts.acme-us]", "[daemon]\nworkers = 0\n[accounts.acme-us]"), "daemon.workers"),
    ],
)
def test_bad_files_name_the_key(tmp_path, change, words):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BASE.replace(*change)))
    assert words in str(caught.value)


def test_a_recipients_schedule_and_mailbox_keyring(tmp_path):
    config = load_config(
        write(
            tmp_path,
            BASE
            + """
            [accounts.acme-us.mailbox]
            host = "imap.example.com"
            username = "messages@example.com"
            password_keyring = "imap:messages@example.com"
            [recipients.agency]
            email = "ops@example.com"
            accounts = ["*"]
            timezone = "America/New_York"
            schedule = "0 7 * * 1"
            """,
        )
    )
    refs = {ref.key: (ref.env, ref.keyring) for ref in config.secret_refs()}
    assert refs == {
        "accounts.acme-us.lwa_client_secret_env": ("T_CHECK_LWA", None),
        "accounts.acme-us.refresh_token_keyring": (None, "seller-health:acme-us"),
        "accounts.acme-us.mailbox.password_keyring": (None, "imap:messages@example.com"),
    }
    trigger = config.recipients["agency"].trigger()
    sunday_night = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, sunday_night).isoformat() == (
        "2026-03-02T07:00:00-05:00"  # crontab's 1: Monday, 7:00 in New York
    )


@pytest.mark.parametrize(
    ("weekdays", "fires_on"),
    [("0", "sun"), ("7", "sun"), ("1-5", "mon-fri"), ("*/2", "sun,tue,thu,sat"), ("fri-sun", "")],
)
def test_crontab_weekdays_mean_what_crontab_means(weekdays, fires_on):
    names = {"mon-fri": "mon,tue,wed,thu,fri", "": "sun,fri,sat"}.get(fires_on, fires_on)
    trigger = cron_trigger(f"0 6 * * {weekdays}", None)
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)  # a Sunday, after 06:00
    seen = set()
    for _ in range(7):
        day = trigger.get_next_fire_time(None, day)
        seen.add(day.strftime("%a").lower())
        day = day.replace(hour=12)
    assert seen == set(names.split(","))


def test_rule_files_resolve_beside_the_config_and_errors_name_the_key(tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "stricter.yaml").write_text(
        'pack: stricter\noverrides:\n  amazon.order_defect_rate:\n    breach: ">= 0.02"\n'
    )
    path = write(tmp_path, BASE + 'rules = ["amazon", "rules/stricter.yaml"]\n')
    monkeypatch.chdir("/")
    config = load_config(path)
    packs = config.account_packs("acme-us")
    odr = next(r for p in packs for r in p.rules if r.id == "amazon.order_defect_rate")
    assert odr.breach is not None and odr.breach.text == ">= 0.02"

    (tmp_path / "rules" / "stricter.yaml").write_text("pack: [unclosed\n")
    with pytest.raises(ConfigError, match=r"^accounts\.acme-us\.rules\[1\]: .*stricter\.yaml"):
        config.account_packs("acme-us")
    broken = load_config(write(tmp_path, BASE + 'rules = ["nothere.yaml"]\n', "b.toml"))
    with pytest.raises(ConfigError, match=r"accounts\.acme-us\.rules\[0\]: .*no such pack"):
        broken.account_packs("acme-us")


def test_the_database_is_relative_to_the_file_unless_given(tmp_path, monkeypatch):
    monkeypatch.delenv("SELLER_HEALTH_DB", raising=False)
    config = load_config(write(tmp_path, 'database = "data/store.db"\n' + BASE))
    assert config.database_for() == str(tmp_path / "data" / "store.db")
    assert config.database_for("other.db") == "other.db"
    monkeypatch.setenv("SELLER_HEALTH_DB", "from-env.db")
    assert config.database_for() is None  # open_store reads the variable


GOOD = """
database = "store.db"
[smtp]
host = "mail.example.com"
username = "reports"
password_env = "T_CHECK_SMTP"
sender = "reports@example.com"
[recipients.agency]
email = "ops@example.com"
accounts = ["*"]
schedule = "0 7 * * 1"
"""


def test_config_check_passes_and_summarises_without_printing_secrets(tmp_path, monkeypatch, ring):
    monkeypatch.setenv("T_CHECK_LWA", "lwa-VALUE-1")
    monkeypatch.setenv("T_CHECK_SMTP", "smtp-VALUE-2")
    ring.set_password("seller-health", "acme-us", "Atzr|VALUE-3")
    path = write(tmp_path, GOOD + BASE)
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{path}: OK"
    assert f"database: sqlite:///{tmp_path}/store.db" in lines
    assert any(line.startswith("  acme-us: amazon; '0 */6 * * *' (UTC), next ") for line in lines)
    assert any(
        line.startswith("  agency: every account; digest '0 7 * * 1' (UTC)") for line in lines
    )
    for secret in ("VALUE-1", "VALUE-2", "VALUE-3"):
        assert secret not in result.output
    assert list(tmp_path.iterdir()) == [path]  # no database was created


def test_config_check_lists_every_problem_and_exits_2(tmp_path, monkeypatch, ring):
    monkeypatch.delenv("T_CHECK_LWA", raising=False)
    monkeypatch.delenv("T_CHECK_SMTP", raising=False)
    (tmp_path / "broken.yaml").write_text("rules: [\n")
    text = (GOOD + BASE).replace('"store.db"', '"missing/store.db"')
    path = write(tmp_path, text + 'rules = ["broken.yaml"]\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}: 5 problem(s)",
        "  accounts.acme-us.lwa_client_secret_env: environment variable T_CHECK_LWA is not set",
        "  accounts.acme-us.refresh_token_keyring: no keyring entry for service "
        "'seller-health' and user 'acme-us'",
        "  smtp.password_env: environment variable T_CHECK_SMTP is not set",
        f"  accounts.acme-us.rules[0]: {tmp_path}/broken.yaml, field line 2: not valid YAML: "
        "expected the node content, but found '<stream end>'",
        f"  database: directory {tmp_path}/missing does not exist",
    ]
    assert not (tmp_path / "missing").exists()


def test_config_check_reports_every_schema_error(tmp_path):
    text = BASE.replace('"0 */6 * * *"', '"every day"')
    path = write(tmp_path, text + '[accounts.shop]\nmarketplace = "ebay"\ntimezone = "Nowhere"\n')
    report = check_config(path)
    assert [p.split(": ", 2)[1] for p in report.problems[:2]] == [
        "accounts.acme-us.schedule",
        "accounts.shop.timezone",
    ]
    # then what the rest of the file refers to: the account's secrets
    assert report.problems[2].startswith("accounts.acme-us.lwa_client_secret_env: ")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2 and "accounts.shop.timezone: unknown time zone" in result.output


def test_run_refuses_a_configuration_with_missing_secrets(tmp_path, monkeypatch, ring):
    monkeypatch.delenv("T_CHECK_LWA", raising=False)
    path = write(tmp_path, BASE)
    result = CliRunner().invoke(
        main, ["run", "--config", str(path), "--db", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 2
    assert "accounts.acme-us.lwa_client_secret_env: environment variable T_CHECK_LWA" in (
        result.output
    )
    assert "also: accounts.acme-us.refresh_token_keyring" in result.output


def test_run_refuses_an_unusable_database_naming_it_without_its_password(
    tmp_path, monkeypatch, ring
):
    monkeypatch.setenv("T_CHECK_LWA", "lwa-secret")
    ring.set_password("seller-health", "acme-us", "Atzr|from-the-keyring")
    path = write(tmp_path, BASE)
    url = "postgresql://someone:hunter2pw@127.0.0.1:1/nowhere"
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--db", url])
    assert result.exit_code == 2, result.output
    assert "--db: cannot open" in result.output and "hunter2pw" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_readme_example_loads_and_shows_every_key(tmp_path):
    import re
    from pathlib import Path
    from typing import get_args

    from pydantic import BaseModel

    from seller_health import config as config_module

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration file", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(write(tmp_path, example))
    assert set(config.accounts) == {"acme-us", "acme-ebay"} and config.smtp is not None

    def inner_types(annotation: object) -> list[object]:
        return [annotation, *(t for arg in get_args(annotation) for t in inner_types(arg))]

    def models(model: type[BaseModel]) -> set[type[BaseModel]]:
        """The model and every model its fields hold, however nested (lists, unions), the
        connectors' account settings included."""
        found = {model}
        for info in model.model_fields.values():
            for nested in inner_types(info.annotation):
                if isinstance(nested, type) and issubclass(nested, BaseModel):
                    found |= set() if nested in found else models(nested)
        return found

    keys = {name for model in models(config_module.Config) for name in model.model_fields}
    assert {"lwa_client_id", "password_keyring", "misfire_grace_seconds"} <= keys
    missing = sorted(k for k in keys if not re.search(rf"\b{k}\b", example))
    assert missing == [], "keys missing from the README's example configuration"


# --- crontab's day fields, never-firing schedules, files `run` refuses -------------------------

SUNDAY_NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)  # March 2026: Mondays 2, 9, ... 30; 1 April: Wed


def _fires(expression: str, timezone: str | None, start: datetime, count: int) -> list[str]:
    trigger = cron_trigger(expression, timezone)
    moments, moment = [], start
    for _ in range(count):
        moment = trigger.get_next_fire_time(moment, moment)
        moments.append(moment.isoformat(timespec="minutes"))
    return moments


@pytest.mark.parametrize(
    ("expression", "timezone", "fires"),
    [
        (  # both day fields restricted: the 1st OR a Monday, as crontab runs it
            "0 6 1 * mon",
            None,
            ["2026-03-02T06:00", "2026-03-09T06:00", "2026-03-16T06:00", "2026-03-23T06:00"]
            + ["2026-03-30T06:00", "2026-04-01T06:00", "2026-04-06T06:00"],
        ),
        (  # the same in New York, across the change to daylight saving time on 8 March
            "0 6 1 * 1",
            "America/New_York",
            ["2026-03-02T06:00-05:00", "2026-03-09T06:00-04:00", "2026-03-16T06:00-04:00"]
            + ["2026-03-23T06:00-04:00", "2026-03-30T06:00-04:00", "2026-04-01T06:00-04:00"],
        ),
        (  # the 15th or a Sunday (0)
            "30 7 15 3 0",
            None,
            ["2026-03-08T07:30", "2026-03-15T07:30", "2026-03-22T07:30", "2026-03-29T07:30"]
            + ["2027-03-07T07:30", "2027-03-14T07:30", "2027-03-15T07:30"],
        ),
        (  # one restricted: that one alone
            "0 6 1 * *",
            None,
            ["2026-04-01T06:00", "2026-05-01T06:00"],
        ),
        (  # a field starting with "*" counts as unrestricted (cron(8)): both must match
            "0 6 */10 * mon",
            None,
            ["2026-05-11T06:00", "2026-06-01T06:00", "2026-08-31T06:00"],
        ),
    ],
)
def test_day_of_month_or_day_of_week_as_crontab_runs_it(expression, timezone, fires):
    start = SUNDAY_NOON if timezone is None else SUNDAY_NOON.astimezone(ZoneInfo(timezone))
    expected = [f if timezone else f + "+00:00" for f in fires]
    assert _fires(expression, timezone, start, len(fires)) == expected


def test_config_check_shows_the_crontab_next_run_of_both_day_fields(tmp_path, monkeypatch, ring):
    monkeypatch.setenv("T_CHECK_LWA", "x")
    ring.set_password("seller-health", "acme-us", "y")
    path = write(tmp_path, BASE.replace('"0 */6 * * *"', '"0 6 1 * mon"'))
    tuesday = datetime(2026, 3, 31, 12, tzinfo=UTC)
    report = check_config(path, str(tmp_path / "s.db"), now=tuesday)
    assert report.problems == []
    line = "  acme-us: amazon; '0 6 1 * mon' (UTC), next 2026-04-01T06:00+00:00; rules: default"
    assert line in report.summary  # not 1 June, the first Monday that is also the 1st


def test_both_day_fields_survive_the_job_store_and_a_restart(tmp_path, monkeypatch):
    from apscheduler.executors.debug import DebugExecutor

    from seller_health.app import daemon as daemon_module
    from seller_health.app.daemon import Daemon, JobOutcome
    from seller_health.store.db import open_store

    calls: list[datetime] = []

    def fake_account(daemon: Daemon, account_id: str) -> JobOutcome:
        calls.append(daemon.clock.now())
        return JobOutcome()

    monkeypatch.setattr(daemon_module, "run_account", fake_account)

    class Clock:
        moment = datetime(2026, 3, 31, 12, tzinfo=UTC)

        def now(self) -> datetime:
            return self.moment

    path = write(tmp_path, '[accounts.shop]\nmarketplace = "ebay"\nschedule = "0 6 1 * mon"\n')
    engine = open_store(str(tmp_path / "store.db"))
    clock = Clock()

    def start() -> Daemon:
        daemon = Daemon(
            load_config(path), engine, clock=clock, executor=DebugExecutor(), emit=lambda r: None
        )
        daemon.start()
        return daemon

    first = start()
    assert first.scheduler.get_job("account:shop").next_run_time == datetime(
        2026, 4, 1, 6, tzinfo=UTC
    )
    first.shutdown()
    clock.moment = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    second = start()  # the unchanged trigger keeps its stored, now missed, run
    try:
        second.tick()
        assert calls == [clock.moment]
        job = second.scheduler.get_job("account:shop")
        assert job.next_run_time == datetime(2026, 4, 6, 6, tzinfo=UTC)  # then Monday
    finally:
        second.shutdown()
        engine.dispose()


def test_a_schedule_that_never_fires_is_refused(tmp_path):
    path = write(tmp_path, BASE.replace('"0 */6 * * *"', '"0 6 30 2 *"'))
    with pytest.raises(ConfigError, match=r"accounts\.acme-us\.schedule: '0 6 30 2 \*': never"):
        load_config(path)
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2 and "never fires" in result.output
    assert cron_trigger("0 6 30 2 mon", None) is not None  # 30 Feb or a Monday: fine


def test_config_check_warns_about_a_file_run_would_refuse(tmp_path, monkeypatch, ring):
    monkeypatch.setenv("T_CHECK_LWA", "x")
    ring.set_password("seller-health", "acme-us", "y")
    path = write(tmp_path, BASE.replace('schedule = "0 */6 * * *"', ""))
    result = CliRunner().invoke(
        main, ["config", "check", "--config", str(path), "--db", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 0  # sync, check and email can use it
    assert result.output.splitlines()[0] == f"{path}: OK"
    assert "warning: nothing to schedule: 'seller-health run' would refuse this file" in (
        result.output
    )


# --- secrets pasted where their names go --------------------------------------------------------

TOKEN = "Atzr|IwEBIAbcdef0123456789"


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (f'refresh_token_env = "{TOKEN}"', "accounts.acme-us.refresh_token_env"),
        (f'refresh_token_keyring = "{TOKEN}"', "accounts.acme-us.refresh_token_keyring"),
    ],
)
def test_a_pasted_secret_is_refused_without_being_quoted(tmp_path, line, key):
    path = write(tmp_path, BASE.replace('refresh_token_keyring = "seller-health:acme-us"', line))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{key}: " in str(caught.value) and "did you paste the secret itself?" in str(
        caught.value
    )
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2 and key in result.output
    for text in (str(caught.value), result.output):
        assert "IwEB" not in text and "Atzr" not in text


def test_reading_a_variable_that_is_no_name_does_not_quote_it(tmp_path):
    from seller_health.config import read_secret

    with pytest.raises(ConfigError) as caught:
        read_secret(TOKEN, "accounts.acme-us")
    assert str(caught.value).startswith("accounts.acme-us: is not a variable name")
    assert "IwEB" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[smtp]\nhost = "h"\nsender = "a@b.c"\nport = 0\n', "smtp.port"),
        ('[smtp]\nhost = "h"\nsender = "a@b.c"\nport = 65536\n', "smtp.port"),
        (
            BASE + '[accounts.acme-us.mailbox]\nhost = "h"\nusername = "u"\n'
            'password_env = "P"\nport = 99999\n',
            "accounts.acme-us.mailbox.port",
        ),
    ],
)
def test_ports_are_in_range(tmp_path, text, key):
    with pytest.raises(ConfigError, match=rf"{key.replace('.', '[.]')}: Input should be"):
        load_config(write(tmp_path, text))


# --- the database URL: a bad port, a password in the file or from the environment ---------------


def test_a_database_url_with_a_bad_port_is_a_problem_not_a_crash(tmp_path):
    path = write(tmp_path, 'database = "postgresql://u:S3cretPw@h:notaport/db"\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "database: not a database URL: its port is not a number" in result.output
    assert "S3cretPw" not in result.output


def test_config_check_warns_about_a_password_in_the_database_url(tmp_path):
    pytest.importorskip("psycopg")
    path = write(
        tmp_path,
        'database = "postgresql://u:S3cretPw@db.example/sh"\n'
        + GOOD.replace('database = "store.db"', ""),
    )
    report = check_config(path)
    assert any("database: the URL holds a password" in w for w in report.warnings)
    assert "database_password_env" in " ".join(report.warnings)
    assert "S3cretPw" not in repr(report)


def test_the_database_password_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SELLER_HEALTH_DB", raising=False)
    text = 'database = "postgresql://u@db.example/sh"\ndatabase_password_env = "T_DB_PW"\n'
    config = load_config(write(tmp_path, text))
    monkeypatch.setenv("T_DB_PW", "p@ss/word")
    assert config.database_for() == "postgresql+psycopg://u:p%40ss%2Fword@db.example/sh"
    assert config.database_for(password=False) == "postgresql://u@db.example/sh"
    assert config.database_for(str(tmp_path / "s.db")) == str(tmp_path / "s.db")  # SQLite: none
    assert "database_password_env" in {ref.key for ref in config.secret_refs()}
    monkeypatch.delenv("T_DB_PW")
    report = check_config(write(tmp_path, text))
    assert report.problems[0] == "database_password_env: environment variable T_DB_PW is not set"
    bad = write(tmp_path, 'database_password_env = "S3cret!pw"\n', "bad.toml")
    with pytest.raises(ConfigError, match="^.*bad.toml: database_password_env: is not a variable"):
        load_config(bad)
