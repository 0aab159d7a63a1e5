"""``seller-health.toml``: accounts, recipients, mail server, schedules, and where secrets are.

Secrets never live in the file: it names the environment variable (``*_env``) or the system
keyring entry (``*_keyring = "service:username"``) that holds each one, and :func:`read_secret`
is the one place that reads them. A bad file is refused with the key at fault
(``accounts.acme-us.region: ...``), so a typo in a file nobody reads often is found at once.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from seller_health.connectors.registry import plugins
from seller_health.model.marketplaces import OTHER, marketplaces
from seller_health.settings import (  # noqa: F401 - re-exported: the configuration's vocabulary
    AccountBase,
    ConfigError,
    ConnectedAccount,
    FieldError,
    Locale,
    MailboxSettings,
    SecretRef,
    Strict,
    TimeZone,
    check_schedule,
    cron_trigger,
    env_name,
    keyring_entry,
    one_secret,
    read_secret,
    redact,
    secret_ref,
    valid_timezone,
)

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from seller_health.engine.pack import Pack

DEFAULT_CONFIG = "seller-health.toml"
LOCALES = ("en", "es", "it", "pt")
DB_ENV_VAR = "SELLER_HEALTH_DB"  # the same variable as seller_health.store.db.ENV_VAR


def _imported_marketplaces() -> tuple[str, ...]:
    """The marketplaces whose data arrives through ``seller-health import``: those without a
    connector, "other" included, so a web shop of one's own is scheduled and mailed like the
    rest."""
    return tuple(m for m in marketplaces() if m not in plugins())


class ImportedAccount(AccountBase):
    """A marketplace without a connector: its data arrives through ``seller-health import``."""

    marketplace: Literal[_imported_marketplaces()]  # type: ignore[valid-type]

    def secret_refs(self, account_id: str) -> list[SecretRef]:
        return []


# Each connector's settings, told apart by ``marketplace``: a new connector joins here by its
# entry point, with no edit to this file.
AccountSettings = Annotated[
    Union[tuple(p.settings for p in plugins().values()) + (ImportedAccount,)],  # noqa: UP007
    Field(discriminator="marketplace"),
]


class SmtpSettings(Strict):
    """The mail server reports and alerts leave through."""

    host: str
    # default by security: 465 for tls, 587 for starttls, 25 for none
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    sender: str = Field(min_length=3)
    ca_file: str | None = None  # a private CA, for a self-hosted mail server
    timeout: float = Field(default=30, gt=0)
    attempts: int = Field(default=4, ge=1, le=20)
    _check_keyring = field_validator("password_keyring")(lambda cls, v: keyring_entry(v))
    _check_env = field_validator("password_env")(lambda cls, v: env_name(v))

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        one_secret(self, "password", required=False)
        has_password = self.password_env is not None or self.password_keyring is not None
        if (self.username is None) == has_password:
            raise ValueError("username and password_env (or password_keyring) go together")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]

    def secret_refs(self) -> list[SecretRef]:
        ref = secret_ref(self, "smtp", "password")
        return [] if ref is None else [ref]

    def password(self) -> str | None:
        ref = secret_ref(self, "smtp", "password")
        return None if ref is None else ref.read()


class Recipient(Strict):
    """Someone who receives reports: a seller (one account) or an agency (a digest of many)."""

    email: list[str] = Field(min_length=1)
    accounts: list[str] = Field(min_length=1)  # account ids, or "*" for every account
    locale: Locale | None = None  # None: the first account's locale
    timezone: TimeZone | None = None
    digest: bool | None = None  # None: a digest when more than one account, else the report
    schedule: str | None = None  # crontab, in ``timezone`` (else UTC): when the digest is sent
    _check_timezone = field_validator("timezone")(
        lambda cls, v: v if v is None else valid_timezone(v)
    )

    @field_validator("email", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        from seller_health.reports.email import parse_address  # the check the mail gets

        for address in value:
            if "." not in parse_address(address).domain:
                raise ValueError(f"not an email address: {address!r}")
        return value

    @model_validator(mode="after")
    def _valid_schedule(self) -> Recipient:
        check_schedule(self)
        return self

    def trigger(self) -> BaseTrigger | None:
        return None if self.schedule is None else cron_trigger(self.schedule, self.timezone)

    def covers(self, account_id: str) -> bool:
        return "*" in self.accounts or account_id in self.accounts


class DaemonSettings(Strict):
    """``[daemon]``: how ``seller-health run`` behaves."""

    misfire_grace_seconds: int = Field(default=3600, ge=1)  # a later start runs; later: skipped
    workers: int = Field(default=4, ge=1, le=64)  # jobs running at once (one per account at most)
    log_timezone: TimeZone | None = None  # the "started" field of log lines; None: UTC
    _check_timezone = field_validator("log_timezone")(
        lambda cls, v: v if v is None else valid_timezone(v)
    )


def _duration(value: object) -> timedelta:
    from seller_health.engine.pack import parse_duration  # one notation with rules' ``for:``

    return parse_duration(value)


class AlertSettings(Strict):
    """``[alerts]``: mail on a change of an account's status or a data source that keeps
    failing (:mod:`seller_health.notify.alerts`)."""

    enabled: bool = True  # false: changes are still tracked, so enabling later sends no backlog
    # a sync finding (expired authorisation, mailbox error) alerts once it has lasted this long
    source_failure_after: Annotated[timedelta, BeforeValidator(_duration)] = timedelta(hours=6)


class Config(Strict):
    database: str | None = None  # a URL or SQLite file; $SELLER_HEALTH_DB and --db win
    # the password of a database server URL that has none (the file's, --db's or the variable's)
    database_password_env: str | None = None
    database_password_keyring: str | None = None
    accounts: dict[str, AccountSettings] = {}
    recipients: dict[str, Recipient] = {}
    smtp: SmtpSettings | None = None
    lookback_days: float = Field(default=3, ge=0)
    daemon: DaemonSettings = DaemonSettings()
    alerts: AlertSettings = AlertSettings()
    _source: str = PrivateAttr(default="the configuration")  # the file, for errors
    _check_keyring = field_validator("database_password_keyring")(lambda cls, v: keyring_entry(v))
    _check_env = field_validator("database_password_env")(lambda cls, v: env_name(v))

    @model_validator(mode="after")
    def _database_password(self) -> Config:
        one_secret(self, "database_password", required=False)
        return self

    @model_validator(mode="after")
    def _known_accounts(self) -> Config:
        for name, recipient in self.recipients.items():
            for account in recipient.accounts:
                if account != "*" and self.accounts and account not in self.accounts:
                    raise FieldError(
                        f"recipients.{name}.accounts", f"{account!r} is not an account of this file"
                    )
        return self

    @property
    def source(self) -> str:
        """Where the configuration was read from: its file, for errors about what it lacks."""
        return self._source

    def synced_accounts(self) -> dict[str, ConnectedAccount]:
        """The accounts a connector syncs (the others' data is imported from files)."""
        return {k: v for k, v in self.accounts.items() if isinstance(v, ConnectedAccount)}

    def database_for(self, db: str | None = None, *, password: bool = True) -> str | None:
        """What to open: ``--db``, else ``$SELLER_HEALTH_DB``, else this file's ``database``.

        None lets :func:`seller_health.store.db.open_store` apply the same order and default.
        A server URL without a password gets ``database_password_*`` (``password=False``: not,
        for what only shows the URL).
        """
        chosen = db or (None if os.environ.get(DB_ENV_VAR) else self.database)
        ref = self._database_password_ref()
        if ref is None or not password:
            return chosen
        return _with_password(chosen or os.environ.get(DB_ENV_VAR), ref)

    def _database_password_ref(self) -> SecretRef | None:
        env, ring = self.database_password_env, self.database_password_keyring
        if env is None and ring is None:
            return None
        return SecretRef(f"database_password_{'env' if env else 'keyring'}", env, ring)

    def recipients_of(self, account_id: str) -> list[str]:
        return [name for name, r in self.recipients.items() if r.covers(account_id)]

    def secret_refs(self) -> list[SecretRef]:
        """Every secret the file refers to, for checks that must not print any value."""
        refs = [ref for i, a in self.accounts.items() for ref in a.secret_refs(i)]
        database = self._database_password_ref()
        refs += [database] if database else []
        return refs + (self.smtp.secret_refs() if self.smtp else [])

    def account_packs(self, account_id: str) -> list[Pack]:
        """The packs ``account_id`` is checked against: its ``rules``, else the default packs.

        Same meaning as ``check --rules``: a pack name applies to the account whatever its
        marketplace, a file as it declares, and a file of ``overrides:`` adjusts the rest.
        """
        from seller_health.engine.rules import (
            PackSelectionError,
            RuleFileError,
            builtin_packs,
            select_packs,
        )

        names = self.accounts[account_id].rules
        if not names:
            return builtin_packs()
        where = f"accounts.{account_id}.rules"
        try:
            return select_packs(names)
        except PackSelectionError as exc:
            raise ConfigError(f"{where}[{exc.index}]: {exc}") from None
        except RuleFileError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def _with_password(database: str | None, ref: SecretRef) -> str | None:
    """``database`` with the password of ``ref`` when it is a server URL without one; else as
    it is (a URL that does not parse is left for opening the store to refuse)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from seller_health.store.db import database_url

    if database is None or "://" not in database:
        return database
    try:
        url = make_url(database_url(database))
    except (ArgumentError, ValueError):
        return database
    if url.get_backend_name() == "sqlite" or url.password is not None:
        return database
    return url.set(password=ref.read()).render_as_string(hide_password=False)


def inline_password(database: str | None) -> bool:
    """Whether a ``database`` URL holds a password, which belongs in the environment."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if database is None or "://" not in database:
        return False
    try:
        return bool(make_url(database).password)
    except (ArgumentError, ValueError):
        return ":" in database.partition("://")[2].rpartition("@")[0]


def _key(error: Any) -> list[str | int]:
    """Where in the file an error is: pydantic's location without the marketplace tag it adds
    for the union of account kinds, plus the field a ``FieldError`` blames."""
    loc = list(error["loc"])
    if len(loc) > 2 and loc[0] == "accounts":
        del loc[2]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc.extend(cause.field_name.split("."))
    return loc


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in _key(error))
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}" if key else message


class InvalidConfig(ConfigError):
    """A file that does not validate. ``rest`` is the file without the parts at fault, when
    that validates, so that ``config check`` can still check the secrets, rule files and
    database the rest refers to: one run lists every problem, not a problem per run."""

    def __init__(self, problems: list[str], rest: Config | None) -> None:
        super().__init__(problems[0], problems)
        self.rest = rest


def _set_aside(data: dict[str, Any], key: list[str | int], whole: bool) -> None:
    """Take the part at ``key`` out of ``data``: the faulty key of an account, a recipient or
    a table (``whole``: all of it). An account is replaced by a bare imported one rather than
    removed, so that the recipients who read it do not become problems of their own."""
    cut = next((i for i, part in enumerate(key) if isinstance(part, int)), len(key))
    path = [str(part) for part in key[:cut]]  # a list's item: the whole list
    if not path:
        return
    unit = path[:2] if path[0] in ("accounts", "recipients") else path[:1]
    parent: Any = data
    for part in unit[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if not isinstance(parent, dict) or unit[-1] not in parent:
        return
    if not whole and len(path) > len(unit):
        inner = parent[unit[-1]]
        if isinstance(inner, dict):
            inner.pop(path[len(unit)], None)
        return
    if unit[0] == "accounts" and len(unit) == 2:
        parent[unit[-1]] = {"marketplace": OTHER}
    else:
        del parent[unit[-1]]


def _validate(data: dict[str, Any], path: Path) -> Config:
    """The configuration, or :class:`InvalidConfig` with every problem: pydantic stops at a
    model whose fields failed before its own checks (a recipient naming an unknown account is
    checked only once every account is valid), so the faulty parts are set aside, first key by
    key, then whole, and the rest validated again for what that hid."""
    import copy

    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    problems = [f"{path}: {_describe(error)}" for error in errors]
    rest = copy.deepcopy(data)
    for whole in (False, True, True):
        for error in errors:
            _set_aside(rest, _key(error), whole)
        try:
            valid = Config.model_validate(rest)
        except ValidationError as again:
            errors = again.errors()
            problems += [p for e in errors if (p := f"{path}: {_describe(e)}") not in problems]
            continue
        valid._source = str(path)
        raise InvalidConfig(problems, valid)
    raise InvalidConfig(problems, None)


def _resolve_paths(data: Any, base: Path) -> None:
    """Make the file's relative paths (rule files, a SQLite file) relative to the file itself,
    so a service started from another directory reads the same files."""
    from seller_health.engine.rules import pack_names

    if not isinstance(data, dict):
        return
    database = data.get("database")
    if isinstance(database, str) and database and "://" not in database:
        data["database"] = str(base / Path(database).expanduser())
    named = {*pack_names(), "default"}
    accounts = data.get("accounts")
    for account in accounts.values() if isinstance(accounts, dict) else ():
        rules = account.get("rules") if isinstance(account, dict) else None
        if isinstance(rules, list):
            account["rules"] = [
                str(base / Path(r).expanduser()) if isinstance(r, str) and r not in named else r
                for r in rules
            ]


STARTER = """\
# seller-health.toml: the accounts to sync and check, who receives their reports, and when.
# Written by 'seller-health config init'; 'seller-health config check' validates it. Every key
# is described under "Configuration file" in the README.
#
# Secrets are never written here: each *_env key names the environment variable that holds
# one (or use *_keyring = "service:username" for the system keyring instead).

database = "seller-health.db"       # a SQLite file beside this one, or a PostgreSQL URL

[accounts.my-shop-us]               # the account id used in reports, history and --account
marketplace = "amazon"              # amazon is synced; ebay | etsy | walmart | facebook | other
                                    # are imported with 'seller-health import DIR'
name = "My Shop US"                 # shown in reports
locale = "en"                       # en | es | it | pt: the language of its reports
timezone = "America/New_York"       # its dates, and the zone of its schedule
schedule = "0 */4 * * *"            # crontab: 'seller-health run' syncs and checks it then
region = "na"                       # na | eu | fe
marketplace_ids = ["ATVPDKIKX0DER"] # amazon.com; see Amazon's list of marketplace ids
lwa_client_id = "amzn1.application-oa2-client.REPLACE-ME"  # your app's client id (not secret)
lwa_client_secret_env = "MY_SHOP_US_LWA_CLIENT_SECRET"     # the variable holding the secret
refresh_token_env = "MY_SHOP_US_REFRESH_TOKEN"             # the variable holding the token

[recipients.me]                     # who receives the account's report after each check
email = "me@example.com"            # one address or a list
accounts = ["my-shop-us"]           # account ids of this file, or ["*"] for all

# Uncomment to mail the reports (without [smtp] nothing is mailed):
# [smtp]
# host = "smtp.example.com"
# port = 587
# security = "starttls"             # starttls | tls | none
# username = "reports@example.com"
# password_env = "SMTP_PASSWORD"    # the variable holding the password
# sender = "Seller Health <reports@example.com>"
"""


def write_starter(path: str | Path) -> None:
    """Write :data:`STARTER` to ``path``, never over an existing file (``FileExistsError``):
    a configuration holds work that no command can give back."""
    with Path(path).open("x", encoding="utf-8") as handle:
        handle.write(STARTER)


def load_config(path: str | Path) -> Config:
    """Read ``seller-health.toml``; raises ``ConfigError`` naming each key at fault (and never
    echoing a secret). Relative paths in it are read from the file's folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _resolve_paths(data, path.resolve().parent)
    config = _validate(data, path)
    config._source = str(path)
    return config
