"""What the sync expects of a connector's streams, checked before anything is fetched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seller_health.connectors.base import Report
from seller_health.connectors.registry import PluginError, check_streams, plugins
from seller_health.ingest.sync import sync_account
from seller_health.settings import ConfigError, ConnectedAccount, MailboxSettings
from seller_health.store.db import open_store


class Source:
    marketplace = "toymart"
    account_id = "t1"
    settle = timedelta(0)
    unknown_fields = frozenset()
    streams: tuple[str, ...] = ("orders",)
    reports: tuple[Report, ...] = ()

    def orders(self, after, before, resume=None):
        return iter(())

    def messages(self, after, before, resume=None):
        return iter(())


def source(streams=("orders",), reports=()) -> Source:
    made = Source()
    made.streams, made.reports = streams, reports
    return made


def test_amazon_is_registered_by_its_entry_point():
    assert plugins()["amazon"].settings.__name__ == "AmazonAccount"


def test_well_formed_streams_pass():
    check_streams(source(("orders", "messages"), (Report("K", "k_report", "events"),)))


@pytest.mark.parametrize(
    ("streams", "reports", "words"),
    [
        (("orders", "tickets"), (), "unknown stream 'tickets'"),
        (("orders", "events"), (), "stream 'events' has no method of that name"),
        (("orders",), (Report("A", "orders", "events"),), "share bookmarks: orders"),
        (("orders",), (Report("A", "messages", "events"),), "share bookmarks: messages"),
        (("orders",), (Report("A", "x", "events"), Report("B", "x", "official")), "x"),
    ],
)
def test_malformed_streams_are_refused_naming_the_clash(streams, reports, words):
    with pytest.raises(PluginError, match="the toymart connector") as refused:
        check_streams(source(streams, reports))
    assert words in str(refused.value)


def test_a_mailbox_beside_an_api_message_stream_is_refused(tmp_path):
    settings = ConnectedAccount(mailbox=MailboxSettings(kind="mbox", path=str(tmp_path / "box")))
    store = open_store("sqlite://")
    with pytest.raises(ConfigError, match=r"accounts\.t1\.mailbox: the toymart connector"):
        sync_account(store, "t1", settings, connector=source(("orders", "messages")))
