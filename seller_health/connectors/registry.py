"""Connectors are plugins: each registers itself in the entry-point group
``seller_health.connectors`` under its marketplace's id, so adding a marketplace touches its own
module (and its rule pack, and its simulator part), never a list here or in the configuration.

The entry point names a :class:`ConnectorPlugin`: the account settings it reads from
``seller-health.toml`` (they join the configuration's accounts, told apart by ``marketplace``)
and how it turns them into a :class:`~seller_health.connectors.base.Connector`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from seller_health.connectors.base import Connector
from seller_health.model.marketplaces import CONNECTOR_GROUP
from seller_health.settings import ConnectedAccount

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class ConnectorPlugin:
    marketplace: str
    # a ConnectedAccount with ``marketplace: Literal["<id>"]``: the configuration's key
    settings: type[ConnectedAccount]
    # (account id, its settings, sleep) -> a connector whose waits go through ``sleep``
    connect: Callable[[str, Any, Sleep], Connector]


class PluginError(RuntimeError):
    """A registered connector that cannot be used; names the entry point."""


@functools.cache
def plugins() -> dict[str, ConnectorPlugin]:
    """Every installed connector, by marketplace (read once per process)."""
    found: dict[str, ConnectorPlugin] = {}
    for entry in sorted(entry_points(group=CONNECTOR_GROUP), key=lambda e: e.name):
        if entry.name in found:
            continue
        plugin = entry.load()
        if not isinstance(plugin, ConnectorPlugin) or plugin.marketplace != entry.name:
            raise PluginError(
                f"entry point {entry.name} = {entry.value} in {CONNECTOR_GROUP}: expected a "
                f"ConnectorPlugin for marketplace {entry.name!r}"
            )
        found[entry.name] = plugin
    return found


def plugin(marketplace: str) -> ConnectorPlugin:
    try:
        return plugins()[marketplace]
    except KeyError:
        raise PluginError(f"no connector for marketplace {marketplace!r}") from None
