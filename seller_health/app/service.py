"""What seller-health does, as plain functions over a store.

The CLI, the ``run`` daemon, the demo and the benchmarks all call these, so that a check is
evaluated and kept, an account synced, or a reader's language chosen in one place only; the
CLI adds parsing, printing and exit codes, nothing else. The package re-exports the public part
(``seller_health.check`` and friends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from seller_health.config import Config, ConfigError
from seller_health.connectors.base import Connector
from seller_health.engine.context import DEFAULT_EVIDENCE_LIMIT
from seller_health.engine.evaluate import evaluate
from seller_health.engine.pack import Pack
from seller_health.engine.rules import builtin_packs, select_packs
from seller_health.ingest.importer import ImportReport, import_directory
from seller_health.ingest.sync import SyncSummary, sync_account
from seller_health.model.results import CheckResult
from seller_health.notify import delivery
from seller_health.notify.alerts import AlertOutcome, process_alerts
from seller_health.notify.delivery import Mailing
from seller_health.notify.mailer import Delivery
from seller_health.reports.reading import Reading, reading
from seller_health.settings import ConnectedAccount
from seller_health.store import history
from seller_health.store.accounts import account_ids, account_profiles
from seller_health.store.db import open_store
from seller_health.store.history import RunAccount, RunSummary, save_run
from seller_health.store.records import newest_record
from seller_health.timeutil import utcnow

__all__ = [
    "Emailing",
    "RunAccount",
    "RunSummary",
    "SaveError",
    "accounts_to_sync",
    "alert",
    "check",
    "data_reach",
    "delete_runs",
    "email",
    "import_files",
    "keep_run",
    "mail_account_report",
    "mail_digest",
    "open_store",
    "packs_for",
    "reader",
    "reading",
    "render",
    "run_details",
    "runs",
    "stale_as_of",
    "sync",
]

Rules = Sequence[str | Pack] | None


def import_files(store: Engine, directory: str | Path) -> ImportReport:
    """Import a directory in the import format (``accounts``, ``orders``, ``messages``,
    ``events`` as CSV or JSON Lines) in one transaction; raises ``ImportFailed`` listing the
    file, line and field of each problem, with nothing stored."""
    return import_directory(store, Path(directory))


def packs_for(rules: Rules = None) -> list[Pack]:
    """Rule packs from names (``"amazon"``), rule files, ``Pack`` objects, or the defaults.

    Names and files mean what ``check --rules`` means; raises ``PackSelectionError`` or
    ``RuleFileError`` naming the entry at fault.
    """
    if not rules:
        return builtin_packs()
    if all(isinstance(r, Pack) for r in rules):
        return list(rules)  # type: ignore[arg-type]
    if any(isinstance(r, Pack) for r in rules):
        raise TypeError("rules: give pack names and files, or Pack objects, not both")
    return select_packs([str(r) for r in rules])


def check(
    store: Engine,
    rules: Rules = None,
    *,
    as_of: datetime | None = None,
    accounts: Iterable[str] | None = None,
    evidence_limit: int = DEFAULT_EVIDENCE_LIMIT,
    keep: bool = True,
) -> CheckResult:
    """Score accounts (all, or ``accounts``) against ``rules`` at ``as_of`` (default: now, to
    the second) and keep the run, so that reports, history and alerts can read it back.

    The returned result carries its ``run_id`` when kept. Raises ``LookupError`` naming an
    account that is not in the store.
    """
    moment = as_of or utcnow().replace(microsecond=0)
    result = evaluate(
        store,
        packs_for(rules),
        moment,
        list(accounts) if accounts is not None else None,
        evidence_limit=evidence_limit,
    )
    if keep:
        keep_run(store, result)
    return result


def keep_run(store: Engine, result: CheckResult) -> int:
    """Store a result as a new run (one transaction); returns and sets its ``run_id``. For a
    result computed with ``check(..., keep=False)``, say to time the evaluation alone."""
    return save_run(store, result)


def sync(
    store: Engine,
    config: Config,
    accounts: Iterable[str] | None = None,
    *,
    reports: bool = True,
    progress: Callable[[str, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    now: datetime | None = None,
    keep_going: bool = False,
    connected: Callable[[Connector], None] | None = None,
) -> dict[str, list[SyncSummary]]:
    """Bring the configured accounts (all, or ``accounts``) up to date from their marketplaces.

    Accounts without a connector (their data is imported from files) are left out. ``progress``
    gets (account, what is being fetched). Raises ``ConfigError`` for an unknown account or a
    missing secret; a failing marketplace raises one of ``SYNC_ERRORS``, unless ``keep_going``
    makes it the stream's finding (as the daemon does, so the check still runs).
    ``connected`` is handed each account's connector once made (its call counts, for one).
    """
    say = progress or (lambda account, text: None)
    synced: dict[str, list[SyncSummary]] = {}
    for account_id in accounts_to_sync(config, accounts):
        settings = config.accounts[account_id]
        assert isinstance(settings, ConnectedAccount)
        synced[account_id] = sync_account(
            store,
            account_id,
            settings,
            lookback=timedelta(days=config.lookback_days),
            reports=reports,
            progress=lambda text, a=account_id: say(a, text),
            should_stop=should_stop,
            now=now,
            keep_going=keep_going,
            connected=connected,
        )
    return synced


def accounts_to_sync(config: Config, accounts: Iterable[str] | None = None) -> list[str]:
    """The configured accounts a connector syncs (all, or those of ``accounts``), in the file's
    order; raises ``ConfigError`` naming the file for an account it does not have."""
    wanted = list(accounts) if accounts is not None else None
    unknown = sorted(set(wanted or ()) - set(config.accounts))
    if unknown:
        raise ConfigError(f"no such account in {config.source}: {', '.join(unknown)}")
    return [a for a in config.synced_accounts() if wanted is None or a in wanted]


def reader(
    store: Engine,
    accounts: Sequence[str],
    language: str | None = None,
    timezone: str | None = None,
) -> Reading:
    """The language and time zone a report of ``accounts`` is written in: as asked, else the
    first account's own, else English and UTC. Raises ``ValueError`` for a language without a
    catalog or an unknown time zone."""
    with store.connect() as conn:
        profile = (
            account_profiles(conn, list(accounts[:1])).get(accounts[0], {}) if accounts else {}
        )
    return reading(
        language=language,
        timezone=timezone,
        fallbacks=[(profile.get("locale"), profile.get("timezone"))],
    )


def render(
    result: CheckResult,
    fmt: str = "text",
    *,
    store: Engine | None = None,
    rules: Rules = None,
    color: bool = False,
    language: str = "en",
    timezone: str = "UTC",
) -> str:
    """A check result as ``text``, ``json`` (report-contract.md, schema 1: English, for
    machines), ``csv`` (a row per account and rule, for spreadsheets) or ``html`` (the account
    report, which reads the store for trends and evidence), worded in ``language`` with moments
    in ``timezone``. Raises ``ValueError`` for a language without a catalog or an unknown time
    zone."""
    if fmt == "json":
        from seller_health.reports.json import render_json

        return render_json(result)
    if fmt == "csv":
        from seller_health.reports.csv import render_csv

        return render_csv(result)
    found = reading(language=language, timezone=timezone)
    if fmt == "html":
        from seller_health.reports.html import render_html, rules_by_id

        if store is None:
            raise ValueError("an HTML report reads the store: pass store=")
        return render_html(
            store,
            result,
            rules=rules_by_id(packs_for(rules)),
            language=found.language,
            timezone=found.timezone,
        )
    if fmt == "text":
        from seller_health.reports.text import render_text

        return render_text(result, language=found.language, timezone=found.timezone, color=color)
    raise ValueError(f"format {fmt!r}: one of text, json, csv, html")


@dataclass
class Emailing:
    """What ``email`` did: each planned mailing, the sends attempted, the mailings with no
    stored check to report (skipped), and with ``save=`` the files written instead."""

    mailings: list[Mailing]
    sent: list[Delivery] = field(default_factory=list)
    skipped: list[Mailing] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


class SaveError(OSError):
    """An email file (or its folder) that cannot be written; names the path."""


def email(
    store: Engine,
    config: Config,
    recipients: Sequence[str] | None = None,
    *,
    save: Path | None = None,
    saved: Callable[[Mailing, Path | None], None] | None = None,
) -> Emailing:
    """Email each recipient (all, or ``recipients``) their report or digest of the latest
    checks, through the configuration's mail server; with ``save``, write each email as a
    ``.eml`` file into that folder instead, telling ``saved`` of each as it goes (``None``: no
    stored check to report). Raises ``ConfigError`` (no mail server, an unknown recipient) and
    :class:`SaveError` naming the file or folder that cannot be written."""
    if config.smtp is None:
        raise ConfigError(f"{config.source}: smtp: no mail server configured")
    mailings = delivery.plan(store, config, recipients=list(recipients) if recipients else None)
    outcome = Emailing(mailings)
    if save is None:
        outcome.sent, outcome.skipped = delivery.deliver(store, config, mailings)
        return outcome
    try:
        save.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(exc.errno, f"cannot create: {exc.strerror or exc}", str(save)) from None
    tell = saved or (lambda mailing, path: None)
    for i, (mailing, message) in enumerate(delivery.compose_all(store, config, mailings), 1):
        if message is None:
            outcome.skipped.append(mailing)
            tell(mailing, None)
            continue
        path = save / f"{i:03d}-{mailing.recipient}.eml"
        try:
            path.write_bytes(bytes(message))
        except OSError as exc:
            raise SaveError(exc.errno, f"cannot write: {exc.strerror or exc}", str(path)) from None
        outcome.written.append(path)
        tell(mailing, path)
    return outcome


def mail_account_report(store: Engine, config: Config, account_id: str) -> list[Delivery]:
    """After an account's check: its report to those who read it alone and have no digest
    schedule of their own (they get it then)."""
    return delivery.deliver_account_report(store, config, account_id)


def mail_digest(store: Engine, config: Config, recipient: str) -> list[Delivery]:
    """One recipient's digest of their accounts' latest checks."""
    return delivery.deliver_digest(store, config, recipient)


def alert(
    store: Engine,
    config: Config,
    accounts: Sequence[str],
    at: datetime,
    packs: dict[str, list[Pack]] | None = None,
) -> AlertOutcome:
    """Mail what changed for ``accounts`` since their last alert (a status, a rule held for its
    ``for:``, a data source failing too long), measured at ``at``: the run's scheduled time."""
    return process_alerts(store, config, list(accounts), at, packs=packs)


def runs(
    store: Engine, accounts: Iterable[str] | None = None, *, limit: int | None = None
) -> list[RunSummary]:
    """Stored runs, newest first (those that checked one of ``accounts``), each with the data
    time it judged: the id ``report --run`` and ``runs delete`` take is found here. Raises
    ``LookupError`` naming an account the store does not know (a typo lists nothing, silently,
    otherwise)."""
    wanted = list(accounts) if accounts is not None else None
    with store.connect() as conn:
        unknown = sorted(set(wanted or ()) - set(account_profiles(conn, wanted or [])))
        if unknown:
            raise LookupError(f"no such account in the store: {', '.join(unknown)}")
        return history.list_runs(conn, account_ids=wanted, limit=limit)


def run_details(store: Engine, run_id: int) -> tuple[RunSummary, list[RunAccount]]:
    """One run and its accounts with their failing rules; raises ``LookupError`` naming a run
    that is not stored."""
    with store.connect() as conn:
        found = history.list_runs(conn, run_ids=[run_id])
        if not found:
            raise LookupError(f"no check run {run_id}")
        return found[0], history.run_accounts(conn, run_id)


def delete_runs(
    store: Engine, run_ids: Sequence[int], *, dry_run: bool = False
) -> list[RunSummary]:
    """Delete runs and their results in one transaction, so a check of the wrong data stops
    being "the latest" of reports and email; returns what was (``dry_run``: would be) deleted.
    Raises ``LookupError`` naming the ids not stored, deleting nothing."""
    ids = list(dict.fromkeys(run_ids))
    with store.connect() as conn:
        found = history.list_runs(conn, run_ids=ids)
    unknown = [str(run_id) for run_id in ids if run_id not in {r.run_id for r in found}]
    if unknown:
        raise LookupError(f"no check run {', '.join(unknown)}")
    if not dry_run:
        history.delete_runs(store, ids)
    return found


STALE_AFTER = timedelta(days=7)  # past the newest record by more: windows may be empty


def data_reach(store: Engine, accounts: Iterable[str] | None = None) -> datetime | None:
    """The newest order, message or event instant of ``accounts`` (all: None); None when they
    have no records."""
    with store.connect() as conn:
        wanted = list(accounts) if accounts is not None else account_ids(conn)
        return newest_record(conn, wanted)


def stale_as_of(
    store: Engine, as_of: datetime, accounts: Iterable[str] | None = None
) -> datetime | None:
    """The newest record of ``accounts`` when ``as_of`` lies more than :data:`STALE_AFTER` past
    it, else None: a check there judges empty windows ("no data", or "ok" on nothing), which
    reads as a verdict unless someone says so."""
    newest = data_reach(store, accounts)
    return newest if newest is not None and as_of - newest > STALE_AFTER else None


def known_accounts(store: Engine) -> list[str]:
    """Every account id in the store, in order: what an error about an unknown one lists, so a
    typo is fixed without another command."""
    with store.connect() as conn:
        return account_ids(conn)
