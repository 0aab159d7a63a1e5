"""An Amazon seller account in ``seller-health.toml``, and the connector it makes: the plugin
that registers Amazon (entry point ``amazon`` in ``seller_health.connectors``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from seller_health.connectors.amazon import (
    LWA_URL,
    AmazonConnector,
    AmazonCredentials,
    connect_amazon,
)
from seller_health.connectors.registry import ConnectorPlugin
from seller_health.settings import (
    ConnectedAccount,
    SecretRef,
    env_name,
    keyring_entry,
    one_secret,
    read_secret,
    secret_ref,
)


class AmazonAccount(ConnectedAccount):
    """Selling Partner API access granted by the seller (Login with Amazon)."""

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
    _check_keyring = field_validator("lwa_client_secret_keyring", "refresh_token_keyring")(
        lambda cls, v: keyring_entry(v)
    )
    _check_env = field_validator("lwa_client_secret_env", "refresh_token_env")(
        lambda cls, v: env_name(v)
    )

    @model_validator(mode="after")
    def _secrets(self) -> AmazonAccount:
        one_secret(self, "lwa_client_secret", required=True)
        one_secret(self, "refresh_token", required=True)
        return self

    def secret(self, variable: str, account_id: str) -> str:
        """The value of environment variable ``variable`` (kept for callers that name one)."""
        return read_secret(variable, f"accounts.{account_id}")

    def secret_refs(self, account_id: str) -> list[SecretRef]:
        prefix = f"accounts.{account_id}"
        refs = [
            secret_ref(self, prefix, "lwa_client_secret"),
            secret_ref(self, prefix, "refresh_token"),
        ]
        return [ref for ref in refs if ref is not None] + super().secret_refs(account_id)

    def lwa_client_secret(self, account_id: str) -> str:
        ref = secret_ref(self, f"accounts.{account_id}", "lwa_client_secret")
        assert ref is not None  # required by the validator
        return ref.read()

    def refresh_token(self, account_id: str) -> str:
        ref = secret_ref(self, f"accounts.{account_id}", "refresh_token")
        assert ref is not None  # required by the validator
        return ref.read()


def amazon_connector(
    account_id: str,
    settings: AmazonAccount,
    *,
    rate_scale: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> AmazonConnector:
    """A connector for a configured account, its secrets read from the environment or keyring."""
    credentials = AmazonCredentials(
        client_id=settings.lwa_client_id,
        client_secret=settings.lwa_client_secret(account_id),
        refresh_token=settings.refresh_token(account_id),
    )
    return connect_amazon(
        account_id,
        credentials,
        settings.marketplace_ids,
        region=settings.region,
        api_url=settings.api_url,
        lwa_url=settings.lwa_url or LWA_URL,
        orders_version=settings.orders_api,
        rate_scale=rate_scale,
        sleep=sleep,
    )


PLUGIN = ConnectorPlugin(
    marketplace="amazon",
    settings=AmazonAccount,
    connect=lambda account_id, settings, sleep: amazon_connector(account_id, settings, sleep=sleep),
)
