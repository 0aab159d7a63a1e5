"""``seller-health.toml``: accounts, recipients, mail server, and where secrets are.

Secrets never live in the file: it names the environment variables that hold them. A bad file
is refused with the key at fault (``accounts.acme-us.region: ...``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = "seller-health.toml"
LOCALES = ("en", "es", "it", "pt")


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def read_secret(variable: str, where: str) -> str:
    """The value of environment variable ``variable``; ``where`` names the key that asked."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{where}: environment variable {variable} is not set")
    return value


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
    port: int = 993
    username: str | None = None
    password_env: str | None = None
    folder: str = "INBOX"
    starttls: bool = False
    ca_file: str | None = None  # a private CA, for a self-hosted mail server
    path: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> MailboxSettings:
        needed = ("host", "username", "password_env") if self.kind == "imap" else ("path",)
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.kind} mailbox needs {', '.join(missing)}")
        return self


class _AccountSettings(_Strict):
    """What every account has, whatever brings its data in."""

    name: str | None = None
    locale: Locale | None = None  # None: the account's own (import format), else English
    timezone: TimeZone | None = None
    _check_timezone = field_validator("timezone")(lambda cls, v: v if v is None else _timezone(v))


class AmazonAccount(_AccountSettings):
    marketplace: Literal["amazon"]
    region: Literal["na", "eu", "fe"] = "na"
    marketplace_ids: list[str] = Field(min_length=1, max_length=50)
    lwa_client_id: str
    lwa_client_secret_env: str
    refresh_token_env: str
    orders_api: Literal["2026-01-01", "v0"] = "2026-01-01"
    api_url: str | None = None  # another SP-API host (a sandbox, the bundled simulator)
    lwa_url: str | None = None
    mailbox: MailboxSettings | None = None

    def secret(self, variable: str, account_id: str) -> str:
        return read_secret(variable, f"accounts.{account_id}")


class ImportedAccount(_AccountSettings):
    """A marketplace without a connector yet: its data arrives through ``seller-health import``."""

    marketplace: Literal["ebay", "etsy", "walmart", "facebook"]


AccountSettings = Annotated[AmazonAccount | ImportedAccount, Field(discriminator="marketplace")]


class SmtpSettings(_Strict):
    """The mail server reports and alerts leave through."""

    host: str
    port: int | None = None  # default by security: 465 for tls, 587 for starttls, 25 for none
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = Field(min_length=3)
    ca_file: str | None = None  # a private CA, for a self-hosted mail server
    timeout: float = Field(default=30, gt=0)
    attempts: int = Field(default=4, ge=1, le=20)

    @model_validator(mode="after")
    def _credentials(self) -> SmtpSettings:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]

    def password(self) -> str | None:
        return None if self.password_env is None else read_secret(self.password_env, "smtp")


class Recipient(_Strict):
    """Someone who receives reports: a seller (one account) or an agency (a digest of many)."""

    email: list[str] = Field(min_length=1)
    accounts: list[str] = Field(min_length=1)  # account ids, or "*" for every account
    locale: Locale | None = None  # None: the first account's locale
    timezone: TimeZone | None = None
    digest: bool | None = None  # None: a digest when more than one account, else the report
    _check_timezone = field_validator("timezone")(lambda cls, v: v if v is None else _timezone(v))

    @field_validator("email", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            local, at, domain = address.rpartition("<")[2].rstrip(">").partition("@")
            if not (local and at and "." in domain):
                raise ValueError(f"not an email address: {address!r}")
        return value


class Config(_Strict):
    database: str | None = None  # a URL or SQLite file; $SELLER_HEALTH_DB and --db win
    accounts: dict[str, AccountSettings] = {}
    recipients: dict[str, Recipient] = {}
    smtp: SmtpSettings | None = None
    lookback_days: float = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _known_accounts(self) -> Config:
        for name, recipient in self.recipients.items():
            for account in recipient.accounts:
                if account != "*" and self.accounts and account not in self.accounts:
                    raise ValueError(
                        f"recipients.{name}.accounts: {account!r} is not an account of this file"
                    )
        return self

    def amazon_accounts(self) -> dict[str, AmazonAccount]:
        return {k: v for k, v in self.accounts.items() if isinstance(v, AmazonAccount)}


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) > 2 and loc[0] == "accounts":
            del loc[2]  # the marketplace tag pydantic adds for the union of account kinds
        key = ".".join(str(part) for part in loc)
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {key}: {message}" if key else f"{path}: {message}") from None
