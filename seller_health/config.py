"""``seller-health.toml``: the accounts to sync and where their secrets are.

Secrets never live in the file: it names the environment variables that hold them. A bad file
is refused with the key at fault (``accounts.acme-us.region: ...``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG = "seller-health.toml"


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class AmazonAccount(_Strict):
    marketplace: Literal["amazon"]
    region: Literal["na", "eu", "fe"] = "na"
    marketplace_ids: list[str] = Field(min_length=1, max_length=50)
    lwa_client_id: str
    lwa_client_secret_env: str
    refresh_token_env: str
    orders_api: Literal["2026-01-01", "v0"] = "2026-01-01"
    api_url: str | None = None  # another SP-API host (a sandbox, the bundled simulator)
    lwa_url: str | None = None
    name: str | None = None
    mailbox: MailboxSettings | None = None

    def secret(self, variable: str, account_id: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"accounts.{account_id}: environment variable {variable} is not set")
        return value


class Config(_Strict):
    accounts: dict[str, AmazonAccount] = {}
    lookback_days: float = Field(default=3, ge=0)


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
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {key}: {first['msg']}") from None
