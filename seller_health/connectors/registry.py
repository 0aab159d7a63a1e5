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
from typing import Any, get_args

from seller_health.connectors.base import Connector, PagedStream
from seller_health.model.marketplaces import CONNECTOR_GROUP
from seller_health.settings import ConfigError, ConnectedAccount

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class ConnectorPlugin:
    marketplace: str
    # a ConnectedAccount with ``marketplace: Literal["<id>"]``: the configuration's key
    settings: type[ConnectedAccount]
    # (account id, its settings, sleep) -> a connector whose waits go through ``sleep``
    connect: Callable[[str, Any, Sleep], Connector]


class PluginError(ConfigError):
    """A registered connector that cannot be used; names the entry point or the marketplace."""


PAGED_STREAMS = frozenset(get_args(PagedStream))
MAILBOX_STREAM = "messages"  # the bookmark of a mailbox's buyer messages


@functools.cache
def _load() -> tuple[dict[str, ConnectorPlugin], tuple[str, ...]]:
    """The installed connectors by marketplace, and why each one that failed could not load:
    one broken plugin must not take the others, or the commands, down with it."""
    found: dict[str, ConnectorPlugin] = {}
    broken: list[str] = []
    for entry in sorted(entry_points(group=CONNECTOR_GROUP), key=lambda e: e.name):
        if entry.name in found:
            continue
        where = f"connector plugin {entry.name} = {entry.value}"
        try:
            plugin = entry.load()
        except Exception as exc:
            broken.append(f"{where}: cannot be loaded ({type(exc).__name__}: {exc})")
            continue
        if not isinstance(plugin, ConnectorPlugin) or plugin.marketplace != entry.name:
            broken.append(f"{where}: not a ConnectorPlugin for marketplace {entry.name!r}")
            continue
        found[entry.name] = plugin
    return found, tuple(broken)


def plugins() -> dict[str, ConnectorPlugin]:
    """Every installed connector that loads, by marketplace (read once per process)."""
    return _load()[0]


def broken_plugins() -> tuple[str, ...]:
    """Why each registered connector that could not be loaded was left out."""
    return _load()[1]


def plugin(marketplace: str) -> ConnectorPlugin:
    try:
        return plugins()[marketplace]
    except KeyError:
        raise PluginError(f"no connector for marketplace {marketplace!r}") from None


def check_streams(connector: Connector) -> None:
    """A connector's streams as the sync expects them: known paged streams, each a method,
    none twice, and reports whose bookmarks clash with no stream (nor the mailbox's)."""
    where = f"the {connector.marketplace} connector"
    streams = list(connector.streams)
    for stream in streams:
        if stream not in PAGED_STREAMS:
            known = ", ".join(sorted(PAGED_STREAMS))
            raise PluginError(f"{where}: unknown stream {stream!r} (streams: {known})")
        if not callable(getattr(connector, stream, None)):
            raise PluginError(f"{where}: stream {stream!r} has no method of that name")
    names = streams + [report.stream for report in connector.reports]
    taken = {*streams, MAILBOX_STREAM}
    clashes = sorted(
        {n for n in names if names.count(n) > 1} | ({r.stream for r in connector.reports} & taken)
    )
    if clashes:
        raise PluginError(f"{where}: streams and reports share bookmarks: {', '.join(clashes)}")
