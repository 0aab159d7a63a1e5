"""``seller-health.toml``: accounts, recipients, mail server, schedules, and where secrets are.

Secrets never live in the file: it names the environment variable (``*_env``) or the system
keyring entry (``*_keyring = "service:username"``) that holds each one, and :func:`read_secret`
is the one place that reads them. A bad file is refused with the key at fault
(``accounts.acme-us.region: ...``), so a typo in a file nobody reads often is found at once.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from seller_health.engine.rules import Pack

DEFAULT_CONFIG = "seller-health.toml"
LOCALES = ("en", "es", "it", "pt")
DB_ENV_VAR = "SELLER_HEALTH_DB"  # the same variable as seller_health.store.db.ENV_VAR


class ConfigError(ValueError):
    """A configuration that cannot be used; the message starts with the key at fault.

    ``problems`` lists every problem found (the message is the first), for ``config check``.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class _FieldError(ValueError):
    """Raised by a model validator to blame one field, since pydantic blames the whole model."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- secrets ----------------------------------------------------------------------------------

_read_secrets: set[str] = set()
_read_lock = threading.Lock()


def read_secret(variable: str | None, where: str, *, keyring: str | None = None) -> str:
    """The secret in environment variable ``variable`` or keyring entry ``"service:username"``.

    ``where`` names the key that asked, for the error. The single place secrets are read, so
    that :func:`redact` knows every value that must never reach a log line.
    """
    if (variable is None) == (keyring is None):
        raise ConfigError(f"{where}: give an environment variable or a keyring entry, not both")
    if variable is not None:
        if not _ENV_NAME.fullmatch(variable):
            raise ConfigError(f"{where}: {NOT_A_VARIABLE}")
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"{where}: environment variable {variable} is not set")
    else:
        assert keyring is not None
        value = _keyring_secret(keyring, where)
    if len(value) >= 4:
        with _read_lock:
            _read_secrets.add(value)
    return value


def _keyring_secret(entry: str, where: str) -> str:
    service, _, username = entry.partition(":")
    try:
        import keyring as keyring_module
    except ImportError:  # pragma: no cover - keyring is a declared dependency
        raise ConfigError(f"{where}: the keyring package is not installed") from None
    try:
        value = keyring_module.get_password(service, username)
    except Exception as exc:  # a locked or missing backend: its message may quote the entry
        raise ConfigError(
            f"{where}: the system keyring could not be read ({type(exc).__name__})"
        ) from None
    if not value:
        raise ConfigError(
            f"{where}: no keyring entry for service {service!r} and user {username!r}"
        )
    return value


def redact(text: str) -> str:
    """``text`` with every secret read so far replaced: the last guard before a log line."""
    with _read_lock:
        secrets = sorted(_read_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NOT_A_VARIABLE = (
    "is not a variable name (did you paste the secret itself? "
    "put it in the environment and name the variable here)"
)


def _env_name(value: str | None) -> str | None:
    """A ``*_env`` key must name a variable: a value that is not a name is most likely the
    secret itself pasted in, so the message never quotes it."""
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(NOT_A_VARIABLE)
    return value


def _keyring_entry(value: str | None) -> str | None:
    """A ``*_keyring`` key must be ``service:username``; what is not may be the secret itself,
    so the message never quotes it."""
    if value is not None:
        service, colon, username = value.partition(":")
        if not (service and colon and username):
            raise ValueError(
                'expected "service:username" (did you paste the secret itself? '
                "put it in the keyring and name its entry here)"
            )
    return value


def _one_secret(model: BaseModel, name: str, *, required: bool) -> None:
    env, ring = getattr(model, f"{name}_env"), getattr(model, f"{name}_keyring")
    if env is not None and ring is not None:
        raise _FieldError(f"{name}_keyring", f"give {name}_env or {name}_keyring, not both")
    if required and env is None and ring is None:
        raise _FieldError(
            f"{name}_env",
            f"missing: give {name}_env (an environment variable) "
            f'or {name}_keyring ("service:username" in the system keyring)',
        )


@dataclass(frozen=True)
class SecretRef:
    """Where one secret is: the key that names it, and its variable or keyring entry."""

    key: str  # e.g. accounts.acme-us.refresh_token_env
    env: str | None
    keyring: str | None

    def read(self) -> str:
        return read_secret(self.env, self.key, keyring=self.keyring)


def _ref(model: BaseModel, prefix: str, name: str) -> SecretRef | None:
    env, ring = getattr(model, f"{name}_env"), getattr(model, f"{name}_keyring")
    if env is None and ring is None:
        return None
    return SecretRef(f"{prefix}.{name}_{'env' if env else 'keyring'}", env, ring)


# --- schedules --------------------------------------------------------------------------------

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(text: str) -> int:
    text = text.strip().lower()
    if text in _WEEKDAYS:
        return _WEEKDAYS.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"bad day of week {text!r} (0-7 or sun-sat)")


def _crontab_weekdays(spec: str) -> str:
    """Crontab's day-of-week field (0 and 7 are Sunday) as APScheduler 3 day names.

    APScheduler 3 counts 0 as *Monday* even in ``from_crontab`` (its issue 286), so "every
    Monday" written the crontab way would silently run on Tuesdays. Names mean one thing in both.
    """
    if spec in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in spec.split(","):
        body, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"bad step in day of week {part!r}")
        step = int(step_text) if slash else 1
        if body == "*":
            low, high = 0, 6
        elif "-" in body:
            first, last = body.split("-", 1)
            low, high = _weekday(first), _weekday(last)
            if high < low and high == 0:
                high = 7  # "fri-sun"
            if high < low:
                raise ValueError(f"backwards range in day of week {part!r}")
        else:
            low = _weekday(body)
            high = 6 if slash else low
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _restricted(field_text: str) -> bool:
    """Whether crontab counts a day field as restricted: as cron(8) does, by its first
    character, so ``*/2`` is unrestricted (Vixie cron and cronie read it this way)."""
    return not field_text.startswith(("*", "?"))


def cron_trigger(expression: str, timezone: str | None) -> BaseTrigger:
    """A 5-field crontab expression (minute hour day month weekday) in ``timezone`` (or UTC).

    Crontab runs when the day of the month *or* the day of the week matches if both are
    restricted ("0 6 1 * mon": the 1st and every Monday), while one CronTrigger needs both to
    match; so that case is the union (OrTrigger) of a trigger per day field.
    """
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r}: expected 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    minute, hour, day, month, weekday = fields
    zone = ZoneInfo(timezone or "UTC")

    def cron(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone
        )

    try:
        weekdays = _crontab_weekdays(weekday)
        if _restricted(day) and _restricted(weekday):
            return OrTrigger([cron(day, "*"), cron("*", weekdays)])
        return cron(day, weekdays)
    except ValueError as exc:
        raise ValueError(f"{expression!r}: {exc}") from None


def _check_schedule(model: BaseModel) -> None:
    """A schedule must parse and fire some day: "0 6 30 2 *" parses but would leave ``run``
    waiting forever."""
    schedule = getattr(model, "schedule", None)
    if schedule is not None:
        try:
            trigger = cron_trigger(schedule, getattr(model, "timezone", None))
        except ValueError as exc:
            raise _FieldError("schedule", str(exc)) from None
        # The search runs to the year 9999: nothing by then is never (the calendar repeats).
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise _FieldError("schedule", f"{schedule!r}: never fires (no such date)")


# --- the file ---------------------------------------------------------------------------------


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


Locale = Literal["en", "es", "it", "pt"]
TimeZone = Annotated[str, Field(min_length=1)]


class MailboxSettings(_Strict):
    """Where forwarded "Buyer Messages" notifications and reply copies arrive."""

    kind: Literal["imap", "maildir", "mbox"] = "imap"
    host: str | None = None
    port: int = Field(default=993, ge=1, le=65535)
    username: str | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    folder: str = "INBOX"
    starttls: bool = False
    ca_file: str | None = None  # a private CA, for a self-hosted mail server
    path: str | None = None
    _check_keyring = field_validator("password_keyring")(lambda cls, v: _keyring_entry(v))
    _check_env = field_validator("password_env")(lambda cls, v: _env_name(v))

    @model_validator(mode="after")
    def _complete(self) -> MailboxSettings:
        _one_secret(self, "password", required=False)
        needed = ("host", "username") if self.kind == "imap" else ("path",)
        missing = [name for name in needed if not getattr(self, name)]
        if self.kind == "imap" and self.password_env is None and self.password_keyring is None:
            missing.append("password_env (or password_keyring)")
        if missing:
            raise ValueError(f"a {self.kind} mailbox needs {', '.join(missing)}")
        return self

    def password(self, where: str) -> str | None:
        """The IMAP password (None for files); ``where`` is the mailbox's key."""
        ref = _ref(self, where, "password")
        return None if ref is None else ref.read()


class _AccountSettings(_Strict):
    """What every account has, whatever brings its data in."""

    name: str | None = None
    locale: Locale | None = None  # None: the account's own (import format), else English
    timezone: TimeZone | None = None
    schedule: str | None = None  # crontab, in ``timezone`` (else UTC): when ``run`` syncs+checks
    rules: list[str] | None = None  # pack names and rule/override files; None: the defaults
    _check_timezone = field_validator("timezone")(lambda cls, v: v if v is None else _timezone(v))

    @model_validator(mode="after")
    def _valid_schedule(self) -> _AccountSettings:
        _check_schedule(self)
        return self

    def trigger(self) -> BaseTrigger | None:
        return None if self.schedule is None else cron_trigger(self.schedule, self.timezone)


class AmazonAccount(_AccountSettings):
    marketplace: Literal["amazon"]
    region: Literal["na", "eu", "fe"] = "na"
    marketplace_ids: list[str] = Field(min_length=1, max_length=50)
    lwa_client_id: str
    lwa_client_secret_env: str | None = None
    lwa_client_secret_keyring: str | None = None
    refresh_token_env: str | None = None
    refresh_token_keyring: str | None = None
    orders_api: Literal["2026-01-01", "v0"] = "2026-01-01"
    api_url: str | None = None  # another SP-API host (a sandbox, the bundled simulator)
    lwa_url: str | None = None
    mailbox: MailboxSettings | None = None
    _check_keyring = field_validator("lwa_client_secret_keyring", "refresh_token_keyring")(
        lambda cls, v: _keyring_entry(v)
    )
    _check_env = field_validator("lwa_client_secret_env", "refresh_token_env")(
        lambda cls, v: _env_name(v)
    )

    @model_validator(mode="after")
    def _secrets(self) -> AmazonAccount:
        _one_secret(self, "lwa_client_secret", required=True)
        _one_secret(self, "refresh_token", required=True)
        return self

    def secret(self, variable: str, account_id: str) -> str:
        """The value of environment variable ``variable`` (kept for callers that name one)."""
        return read_secret(variable, f"accounts.{account_id}")

    def secret_refs(self, account_id: str) -> list[SecretRef]:
        prefix = f"accounts.{account_id}"
        refs = [_ref(self, prefix, "lwa_client_secret"), _ref(self, prefix, "refresh_token")]
        if self.mailbox is not None:
            refs.append(_ref(self.mailbox, f"{prefix}.mailbox", "password"))
        return [ref for ref in refs if ref is not None]

    def lwa_client_secret(self, account_id: str) -> str:
        ref = _ref(self, f"accounts.{account_id}", "lwa_client_secret")
        assert ref is not None  # required by the validator
        return ref.read()

    def refresh_token(self, account_id: str) -> str:
        ref = _ref(self, f"accounts.{account_id}", "refresh_token")
        assert ref is not None  # required by the validator
        return ref.read()

    def mailbox_password(self, account_id: str) -> str | None:
        if self.mailbox is None:
            return None
        return self.mailbox.password(f"accounts.{account_id}.mailbox")


class ImportedAccount(_AccountSettings):
    """A marketplace without a connector yet: its data arrives through ``seller-health import``."""

    marketplace: Literal["ebay", "etsy", "walmart", "facebook"]

    def secret_refs(self, account_id: str) -> list[SecretRef]:
        return []


AccountSettings = Annotated[AmazonAccount | ImportedAccount, Field(discriminator="marketplace")]


class SmtpSettings(_Strict):
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
    _check_keyring = field_validator("password_keyring")(lambda cls, v: _keyring_entry(v))
    _check_env = field_validator("password_env")(lambda cls, v: _env_name(v))

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        _one_secret(self, "password", required=False)
        has_password = self.password_env is not None or self.password_keyring is not None
        if (self.username is None) == has_password:
            raise ValueError("username and password_env (or password_keyring) go together")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]

    def secret_refs(self) -> list[SecretRef]:
        ref = _ref(self, "smtp", "password")
        return [] if ref is None else [ref]

    def password(self) -> str | None:
        ref = _ref(self, "smtp", "password")
        return None if ref is None else ref.read()


class Recipient(_Strict):
    """Someone who receives reports: a seller (one account) or an agency (a digest of many)."""

    email: list[str] = Field(min_length=1)
    accounts: list[str] = Field(min_length=1)  # account ids, or "*" for every account
    locale: Locale | None = None  # None: the first account's locale
    timezone: TimeZone | None = None
    digest: bool | None = None  # None: a digest when more than one account, else the report
    schedule: str | None = None  # crontab, in ``timezone`` (else UTC): when the digest is sent
    _check_timezone = field_validator("timezone")(lambda cls, v: v if v is None else _timezone(v))

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
        _check_schedule(self)
        return self

    def trigger(self) -> BaseTrigger | None:
        return None if self.schedule is None else cron_trigger(self.schedule, self.timezone)

    def covers(self, account_id: str) -> bool:
        return "*" in self.accounts or account_id in self.accounts


class DaemonSettings(_Strict):
    """``[daemon]``: how ``seller-health run`` behaves."""

    misfire_grace_seconds: int = Field(default=3600, ge=1)  # a later start runs; later: skipped
    workers: int = Field(default=4, ge=1, le=64)  # jobs running at once (one per account at most)
    log_timezone: TimeZone | None = None  # the "started" field of log lines; None: UTC
    _check_timezone = field_validator("log_timezone")(
        lambda cls, v: v if v is None else _timezone(v)
    )


def _duration(value: object) -> timedelta:
    from seller_health.engine.rules import parse_duration  # one notation with rules' ``for:``

    return parse_duration(value)


class AlertSettings(_Strict):
    """``[alerts]``: mail on a change of an account's status or a data source that keeps
    failing (:mod:`seller_health.notify.alerts`)."""

    enabled: bool = True  # false: changes are still tracked, so enabling later sends no backlog
    # a sync finding (expired authorisation, mailbox error) alerts once it has lasted this long
    source_failure_after: Annotated[timedelta, BeforeValidator(_duration)] = timedelta(hours=6)


class Config(_Strict):
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
    _check_keyring = field_validator("database_password_keyring")(lambda cls, v: _keyring_entry(v))
    _check_env = field_validator("database_password_env")(lambda cls, v: _env_name(v))

    @model_validator(mode="after")
    def _database_password(self) -> Config:
        _one_secret(self, "database_password", required=False)
        return self

    @model_validator(mode="after")
    def _known_accounts(self) -> Config:
        for name, recipient in self.recipients.items():
            for account in recipient.accounts:
                if account != "*" and self.accounts and account not in self.accounts:
                    raise ValueError(
                        f"recipients.{name}.accounts: {account!r} is not an account of this file"
                    )
        return self

    def synced_accounts(self) -> dict[str, AmazonAccount]:
        """The accounts a connector syncs (the others' data is imported from files)."""
        return {k: v for k, v in self.accounts.items() if isinstance(v, AmazonAccount)}

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


def _describe(error: Any) -> str:
    loc = list(error["loc"])
    if len(loc) > 2 and loc[0] == "accounts":
        del loc[2]  # the marketplace tag pydantic adds for the union of account kinds
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):
        loc.append(cause.field_name)
    key = ".".join(str(part) for part in loc)
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}" if key else message


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
                str(base / Path(r).expanduser())
                if isinstance(r, str) and r not in named
                else r
                for r in rules
            ]


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
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {_describe(error)}" for error in exc.errors()]
        raise ConfigError(problems[0], problems) from None
