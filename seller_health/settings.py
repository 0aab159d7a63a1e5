"""How every settings model is written: strict keys, secrets named (never held), schedules.

The configuration file's models (``seller_health.config``) and each connector's own account
settings are made of these pieces, so a connector brings its settings without importing the
configuration. Secrets never live in the file: it names the environment variable (``*_env``)
or the system keyring entry (``*_keyring = "service:username"``) that holds each one, and
:func:`read_secret` is the one place that reads them.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger


class ConfigError(ValueError):
    """A configuration that cannot be used; the message starts with the key at fault.

    ``problems`` lists every problem found (the message is the first), for ``config check``.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class FieldError(ValueError):
    """Raised by a model validator to blame one field, since pydantic blames the whole model."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class Strict(BaseModel):
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


def env_name(value: str | None) -> str | None:
    """A ``*_env`` key must name a variable: a value that is not a name is most likely the
    secret itself pasted in, so the message never quotes it."""
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(NOT_A_VARIABLE)
    return value


def keyring_entry(value: str | None) -> str | None:
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


def one_secret(model: BaseModel, name: str, *, required: bool) -> None:
    env, ring = getattr(model, f"{name}_env"), getattr(model, f"{name}_keyring")
    if env is not None and ring is not None:
        raise FieldError(f"{name}_keyring", f"give {name}_env or {name}_keyring, not both")
    if required and env is None and ring is None:
        raise FieldError(
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


def secret_ref(model: BaseModel, prefix: str, name: str) -> SecretRef | None:
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


def check_schedule(model: BaseModel) -> None:
    """A schedule must parse and fire some day: "0 6 30 2 *" parses but would leave ``run``
    waiting forever."""
    schedule = getattr(model, "schedule", None)
    if schedule is not None:
        try:
            trigger = cron_trigger(schedule, getattr(model, "timezone", None))
        except ValueError as exc:
            raise FieldError("schedule", str(exc)) from None
        # The search runs to the year 9999: nothing by then is never (the calendar repeats).
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise FieldError("schedule", f"{schedule!r}: never fires (no such date)")


# --- the file ---------------------------------------------------------------------------------


def valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


Locale = Literal["en", "es", "it", "pt"]
TimeZone = Annotated[str, Field(min_length=1)]


class MailboxSettings(Strict):
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
    _check_keyring = field_validator("password_keyring")(lambda cls, v: keyring_entry(v))
    _check_env = field_validator("password_env")(lambda cls, v: env_name(v))

    @model_validator(mode="after")
    def _complete(self) -> MailboxSettings:
        one_secret(self, "password", required=False)
        needed = ("host", "username") if self.kind == "imap" else ("path",)
        missing = [name for name in needed if not getattr(self, name)]
        if self.kind == "imap" and self.password_env is None and self.password_keyring is None:
            missing.append("password_env (or password_keyring)")
        if missing:
            raise ValueError(f"a {self.kind} mailbox needs {', '.join(missing)}")
        return self

    def password(self, where: str) -> str | None:
        """The IMAP password (None for files); ``where`` is the mailbox's key."""
        ref = secret_ref(self, where, "password")
        return None if ref is None else ref.read()


class AccountBase(Strict):
    """What every account has, whatever brings its data in."""

    name: str | None = None
    locale: Locale | None = None  # None: the account's own (import format), else English
    timezone: TimeZone | None = None
    schedule: str | None = None  # crontab, in ``timezone`` (else UTC): when ``run`` syncs+checks
    rules: list[str] | None = None  # pack names and rule/override files; None: the defaults
    _check_timezone = field_validator("timezone")(
        lambda cls, v: v if v is None else valid_timezone(v)
    )

    @model_validator(mode="after")
    def _valid_schedule(self) -> AccountBase:
        check_schedule(self)
        return self

    def trigger(self) -> BaseTrigger | None:
        return None if self.schedule is None else cron_trigger(self.schedule, self.timezone)


class ConnectedAccount(AccountBase):
    """An account a connector syncs: the marketplace's own settings derive from this, and may
    add where the buyer messages arrive (a mailbox), for APIs that do not give them."""

    mailbox: MailboxSettings | None = None

    def secret_refs(self, account_id: str) -> list[SecretRef]:
        """Every secret the account's settings name, for checks that must not print any."""
        if self.mailbox is None:
            return []
        ref = secret_ref(self.mailbox, f"accounts.{account_id}.mailbox", "password")
        return [ref] if ref is not None else []

    def mailbox_password(self, account_id: str) -> str | None:
        if self.mailbox is None:
            return None
        return self.mailbox.password(f"accounts.{account_id}.mailbox")
