"""``seller-health``: wires the pieces together and owns the exit codes.

Exit status: 0 nothing reached ``--fail-on``, 1 something did, 2 bad input or usage.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import Engine

from seller_health.app import service
from seller_health.config import (
    DB_ENV_VAR,
    DEFAULT_CONFIG,
    Config,
    ConfigError,
    load_config,
    redact,
)
from seller_health.engine import rules as rules_module
from seller_health.engine.pack import Pack
from seller_health.engine.rules import (
    PackSelectionError,
    RuleFileError,
    builtin_pack,
    builtin_packs,
    load_pack_file,
    pack_names,
)
from seller_health.store.accounts import account_ids, has_accounts
from seller_health.store.db import database_url, open_store
from seller_health.timeutil import InstantError, format_instant, parse_as_of

if TYPE_CHECKING:
    from seller_health.model.results import CheckResult
    from seller_health.notify.delivery import Mailing

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
FAIL_LEVELS = {"breach": ("breach",), "warn": ("breach", "warn"), "never": ()}


class BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--as-of``: an instant with its offset, or a date alone (midnight UTC)."""
    if value is None:
        return None
    try:
        return parse_as_of(value)
    except InstantError as exc:
        raise click.BadParameter(str(exc)) from None


def _db_source(db: str | None, config_path: str | None = None, config: Config | None = None) -> str:
    """Where the database to open was named, for errors: the option, variable or key."""
    if db:
        return "--db"
    if os.environ.get(DB_ENV_VAR):
        return f"${DB_ENV_VAR}"
    if config is not None and config.database:
        return f"{config_path}: database"
    return "the default database"


def open_db(
    db: str | None, source: str, *, must_exist: bool = False, config: Config | None = None
) -> Engine:
    """The store, or exit 2 naming ``source`` (never the password of a URL).

    ``must_exist``: a command that only reads refuses a SQLite file that is not there, rather
    than creating an empty store from a mistyped ``--db`` and finding nothing in it.
    """
    from alembic.util.exc import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    shown = "the database"
    secret = None
    try:
        target = config.database_for(db) if config is not None else db
        url = make_url(database_url(target))
        shown, secret = url.render_as_string(hide_password=True), url.password
        if must_exist and url.get_backend_name() == "sqlite" and url.database not in (None, ""):
            path = Path(url.database)
            if url.database != ":memory:" and not path.is_file():
                raise BadInput(f"{source}: no store at {path}")
        return open_store(target)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    except ValueError:  # make_url: a port that is not a number (the message quotes the URL)
        raise BadInput(f"{source}: not a database URL: its port is not a number") from None
    except ImportError as exc:
        raise BadInput(f"{source}: the database driver is not installed ({exc.name})") from None
    except (SQLAlchemyError, CommandError) as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if secret:
            reason = reason.replace(str(secret), "***")
        reason = redact(reason)
        raise BadInput(f"{source}: cannot open {shown}: {reason}") from None


def select_packs(names: tuple[str, ...]) -> list[Pack]:
    """``--rules``, or exit 2 naming the entry at fault."""
    try:
        return rules_module.select_packs(names)
    except PackSelectionError as exc:
        raise BadInput(f"--rules {exc}") from None
    except RuleFileError as exc:
        raise BadInput(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seller-health")
def main() -> None:
    """Keep marketplace seller accounts out of trouble."""
    from seller_health.connectors.registry import broken_plugins

    for problem in broken_plugins():  # the others work; its accounts are refused by name
        click.echo(f"warning: {problem}", err=True)


@main.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--db", help="Database URL or SQLite file (default: $SELLER_HEALTH_DB or seller-health.db)."
)
def import_command(directory: Path, db: str | None) -> None:
    """Import accounts, orders, messages and events from DIRECTORY (CSV or JSON Lines)."""
    from seller_health.ingest.importer import ImportFailed

    engine = open_db(db, _db_source(db))
    try:
        report = service.import_files(engine, directory)
    except ImportFailed as exc:
        raise BadInput(f"nothing was imported:\n{exc}") from None
    click.echo(str(report))


@main.command()
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Import this directory first (into a temporary database unless --db is given).",
)
@click.option("--db", help="Database URL or SQLite file.")
@click.option(
    "--rules",
    "rules",
    multiple=True,
    metavar="PACK_OR_FILE",
    help="A pack (listed by 'seller-health rules') or a rule file; repeatable.",
)
@click.option(
    "--as-of",
    callback=_instant,
    help="The instant every window ends at: ISO 8601 with offset (2026-11-01T09:30:00+01:00), "
    "or a date (2026-11-01: midnight UTC, for every account).",
)
@click.option(
    "--account", "accounts", multiple=True, metavar="ID", help="Only this account; repeatable."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html", "csv"]),
    default="text",
    show_default=True,
    help="csv: one row per account and rule, for spreadsheets.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout.",
)
@click.option(
    "--fail-on", type=click.Choice(list(FAIL_LEVELS)), default="breach", show_default=True
)
@click.option(
    "--evidence-limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Evidence ids listed per rule (the total is always given).",
)
@click.option(
    "--language",
    default="en",
    show_default=True,
    help="Language of the text and HTML reports (en, es, it, pt); JSON is always English.",
)
@click.option("--timezone", default="UTC", show_default=True, help="Time zone dates are shown in.")
@click.option(
    "--save/--no-save",
    default=None,
    help="Keep this check as a run, the latest for 'report' and 'email'. Default: saved, "
    "except with --data (an ad-hoc check of files).",
)
@click.option(
    "--details", is_flag=True, help="Text: every rule of every account, not only those failing."
)
@click.option(
    "--rule",
    "only_rule",
    metavar="ID",
    help="Text: only this rule, with its evidence ids, for each account that has it.",
)
def check(
    data: Path | None,
    db: str | None,
    rules: tuple[str, ...],
    as_of: datetime | None,
    accounts: tuple[str, ...],
    fmt: str,
    output: Path | None,
    fail_on: str,
    evidence_limit: int,
    language: str,
    timezone: str,
    save: bool | None,
    details: bool,
    only_rule: str | None,
) -> None:
    """Score accounts against rule packs and report what is at risk."""
    if fmt != "text" and (details or only_rule):
        raise BadInput("--details and --rule shape the text output: use them with --format text")
    try:
        service.reading(language=language, timezone=timezone)  # before opening anything
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    packs = select_packs(rules)
    if only_rule and all(r.id != only_rule for pack in packs for r in pack.rules):
        raise BadInput(f"--rule {only_rule}: no selected pack has this rule")  # before a run
    if save and data is not None and not db:  # the run would vanish with the process
        raise BadInput("--save: --data without --db checks in a temporary database; add --db")
    engine = open_db(db if db else ("sqlite://" if data else None), _db_source(db))
    if data is not None:
        from seller_health.ingest.importer import ImportFailed

        try:
            service.import_files(engine, data)
        except ImportFailed as exc:
            raise BadInput(f"{data}: nothing was imported:\n{exc}") from None
    if not has_accounts(engine):
        raise BadInput(
            f"no accounts in {engine.url.render_as_string()}: run 'seller-health import DIR' first"
        )
    try:
        result = service.check(
            engine,
            packs,
            as_of=as_of,
            accounts=accounts or None,
            evidence_limit=evidence_limit,
            keep=(data is None) if save is None else save,  # an ad-hoc check of files: not kept
        )
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    _warn_if_stale(engine, as_of, accounts)
    color = output is None and fmt == "text" and sys.stdout.isatty()
    if fmt == "text":
        rendered = _check_text(result, language, timezone, color, details, only_rule)
    else:
        rendered = service.render(
            result,
            fmt,
            store=engine,
            rules=packs,
            color=color,
            language=language,
            timezone=timezone,
        )
    _emit(rendered, output)
    statuses = {account.status for account in result.accounts}
    sys.exit(EXIT_FAILED if statuses & set(FAIL_LEVELS[fail_on]) else EXIT_OK)


def _check_text(
    result: CheckResult,
    language: str,
    timezone: str,
    color: bool,
    details: bool,
    rule: str | None,
) -> str:
    """``check``'s terminal view, as wide as the terminal (80 columns in a pipe or a file, whose
    reader's width is unknown). ``color`` is set only when stdout is that terminal."""
    from seller_health.reports.text import render_text

    found = service.reading(language=language, timezone=timezone)
    width = shutil.get_terminal_size().columns if color else 80
    try:
        return render_text(
            result,
            language=found.language,
            timezone=found.timezone,
            color=color,
            width=width,
            details=details,
            rule=rule,
        )
    except LookupError as exc:  # the language and zone are known by now: the rule is not
        raise BadInput(f"--rule {rule}: no selected account has this rule") from exc


@main.command()
@click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Accounts and where their secrets are.",
)
@click.option("--db", help="Database URL or SQLite file.")
@click.option("--account", "accounts", multiple=True, metavar="ID", help="Only this account.")
@click.option(
    "--reports/--no-reports",
    default=True,
    show_default=True,
    help="Also fetch the marketplaces' reports (Amazon: account health, feedback).",
)
def sync(config_path: str, db: str | None, accounts: tuple[str, ...], reports: bool) -> None:
    """Pull orders (and reports) from the marketplaces into the store, incrementally."""
    try:
        config = load_config(config_path)
        chosen = service.accounts_to_sync(config, accounts or None)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    engine = open_db(db, _db_source(db, config_path, config), config=config)
    failed = False
    for account_id in chosen:
        try:
            failed |= not _sync_one(engine, config, account_id, reports)
        except ConfigError as exc:
            raise BadInput(str(exc)) from None
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


def _sync_one(engine: Engine, config: Config, account_id: str, reports: bool) -> bool:
    """Sync one account, printing its summaries; False when something went wrong."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from seller_health.ingest.sync import SYNC_ERRORS, describe_sync_error

    connected: list[Any] = []
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
            task = bar.add_task(f"{account_id}: orders", total=None)
            summaries = service.sync(
                engine,
                config,
                [account_id],
                reports=reports,
                progress=lambda account, text: bar.update(task, description=f"{account}: {text}"),
                connected=connected.append,
            )[account_id]
    except SYNC_ERRORS as exc:
        click.echo(f"{account_id}: sync failed: {describe_sync_error(exc)}", err=True)
        return False
    for summary in summaries:
        click.echo(str(summary))
        for note in summary.notes:
            click.echo(f"  {note}")
    for connector in connected:
        stats = connector.stats
        click.echo(
            f"  {stats.requests} requests, {stats.throttled} throttled, {stats.retried} retried"
        )
    return not any(s.finding for s in summaries)


@main.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("seller-health-demo"),
    show_default=True,
)
def demo(output_dir: Path) -> None:
    """Run the whole job against the bundled marketplace simulator and write the reports."""
    from seller_health.app.demo import run_demo

    click.echo("Starting the marketplace simulator and syncing three demo Amazon accounts...")
    run = run_demo(output_dir)
    for summary in run.summaries:
        click.echo(f"  {summary}")
    color = sys.stdout.isatty()
    click.echo(service.render(run.result, "text", color=color), nl=False)
    click.echo("\n" + "\n".join(run.story))
    click.echo("\nWrote:")
    for kind, path in run.files.items():
        click.echo(f"  {kind:9} {path}")


@main.command("rules")
@click.argument("sources", nargs=-1, metavar="[PACK_OR_FILE]...")
def rules_command(sources: tuple[str, ...]) -> None:
    """List rule packs and their rules; with files, validate them (exit 2 if broken)."""
    from seller_health.reports.listing import override_words, threshold_words

    try:
        packs = [
            builtin_pack(s) if s in pack_names() else load_pack_file(s) for s in sources
        ] or builtin_packs()
    except RuleFileError as exc:
        raise BadInput(str(exc)) from None
    known = [*packs, *builtin_packs()]  # an override's rule, for its unit
    for pack in packs:
        scope = "every account" if pack.applies_to == "all" else f"{pack.applies_to} accounts"
        click.echo(f"{pack.name}: {pack.title or pack.name} ({scope}; {pack.source})")
        for rule in pack.rules:
            words = threshold_words(rule)
            thresholds = ", ".join(f"{k} {v}" for k, v in words.items()) or "informational"
            days = f"{rule.window_days}" + (f"/{rule.fallback_days}" if rule.fallback_days else "")
            click.echo(f"  {rule.id:40} {days:>6} d  {thresholds}")
        for rule_id in pack.overrides:
            changes = ", ".join(override_words(pack, rule_id, known))
            click.echo(f"  override {rule_id}: {changes}")


_LANGUAGE = click.option(
    "--language", help="Language of the report (en, es, it, pt); default: the account's."
)
_TIMEZONE = click.option("--timezone", help="Time zone dates are shown in; default: the account's.")


def _reader(
    engine: Engine, account_ids: list[str], language: str | None, timezone: str | None
) -> tuple[str, str]:
    """``service.reader``, or exit 2 naming the option at fault."""
    try:
        found = service.reader(engine, account_ids, language, timezone)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return found.language, found.timezone


@main.command()
@click.option("--db", help="Database URL or SQLite file.")
@click.option(
    "--run", "run_id", type=int, help="A stored check run; default: each account's latest."
)
@click.option("--account", "accounts", multiple=True, metavar="ID", help="Only this account.")
@click.option(
    "--kind",
    type=click.Choice(["account", "digest"]),
    default="account",
    show_default=True,
    help="One report per account, or the agency digest of all of them.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "text", "json"]),
    default="html",
    show_default=True,
    help="html goes to --output FILE or a pipe, never to a terminal.",
)
@_LANGUAGE
@_TIMEZONE
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def report(
    db: str | None,
    run_id: int | None,
    accounts: tuple[str, ...],
    kind: str,
    fmt: str,
    language: str | None,
    timezone: str | None,
    output: Path | None,
) -> None:
    """Re-render stored check results: any past run, in any language."""
    from seller_health.reports.html import render_page, report_page
    from seller_health.store.history import load_latest, load_run

    if fmt == "html" and output is None and sys.stdout.isatty():  # a pipe or a file is fine
        raise BadInput("an HTML report in a terminal: use --output FILE (or --format text)")
    engine = open_db(db, _db_source(db), must_exist=True)
    if run_id is not None:
        try:
            result = load_run(engine, run_id, list(accounts) or None)
        except LookupError as exc:
            raise BadInput(str(exc.args[0])) from None
    else:
        if not accounts:
            with engine.connect() as conn:
                accounts = tuple(account_ids(conn))
        result = load_latest(engine, list(accounts))
    missing = sorted(set(accounts) - {a.account_id for a in result.accounts})
    if missing or not result.accounts:
        raise BadInput(f"no stored check for: {', '.join(missing) or 'any account'}")
    if fmt == "json":
        rendered = service.render(result, "json")
    else:
        language, timezone = _reader(
            engine, [a.account_id for a in result.accounts], language, timezone
        )
        page = report_page(engine, result, kind=kind, language=language, timezone=timezone)
        rendered = render_page(page, fmt)
    _emit(rendered, output)


def _warn_if_stale(engine: Engine, as_of: datetime | None, accounts: tuple[str, ...]) -> None:
    """Say on stderr when ``--as-of`` lies far past the stored data: empty windows read as a
    verdict otherwise. Not an error: checking a moment with no data yet can be meant."""
    newest = None if as_of is None else service.stale_as_of(engine, as_of, accounts or None)
    if as_of is None or newest is None:
        return
    click.echo(
        f"warning: --as-of {format_instant(as_of)} is {(as_of - newest).days} days after the "
        f"newest record ({format_instant(newest)}): windows may be empty",
        err=True,
    )


def _emit(rendered: str, output: Path | None, option: str = "--output") -> None:
    """Print, or write ``output``; a file that cannot be written is bad input (exit 2), not a
    traceback with exit 1, which ``check`` and ``audit`` use for "breach"."""
    if output is None:
        click.echo(rendered, nl=False)
        return
    try:
        output.write_text(rendered, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{option} {output}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("account")
@click.option("--db", help="Database URL or SQLite file.")
@click.option(
    "--as-of",
    callback=_instant,
    help="The moment to audit: ISO 8601 with offset, or a date (midnight UTC); default: now. "
    "Reproducible for the past.",
)
@click.option("--rules", multiple=True, metavar="PACK_OR_FILE", help="Rule packs or files.")
@_LANGUAGE
@_TIMEZONE
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="HTML file.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Also write a PDF.")
def audit(
    account: str,
    db: str | None,
    as_of: datetime | None,
    rules: tuple[str, ...],
    language: str | None,
    timezone: str | None,
    output: Path | None,
    pdf: Path | None,
) -> None:
    """The pre-review audit pack of one account: every rule, every offending record and its
    timeline, data sources, and corrective actions, as one self-contained HTML file.

    Exit 1 when the account is in breach, as 'check' does, so a script can act on it.
    """
    from seller_health.reports.html import render_page, report_page, rules_by_id

    packs = select_packs(rules)
    engine = open_db(db, _db_source(db), must_exist=True)
    try:
        result = service.check(
            engine,
            packs,
            as_of=as_of,
            accounts=[account],
            evidence_limit=AUDIT_EVIDENCE_LIMIT,
            keep=False,
        )
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    language, timezone = _reader(engine, [account], language, timezone)
    page = report_page(
        engine,
        result,
        kind="audit",
        language=language,
        timezone=timezone,
        rules=rules_by_id(packs),
        evidence_rows=None,
    )
    html = render_page(page, "html")
    output = output or Path(f"audit-{account}-{result.as_of.strftime('%Y%m%dT%H%M%SZ')}.html")
    _emit(html, output)
    if pdf is not None:
        try:
            from weasyprint import HTML
        except ImportError:
            raise BadInput(f"--pdf needs WeasyPrint: {PDF_INSTALL}") from None
        try:
            HTML(string=html).write_pdf(pdf)
        except OSError as exc:
            raise BadInput(f"--pdf {pdf}: cannot write: {exc.strerror or exc}") from None
        click.echo(f"wrote {pdf}", err=True)
    sys.exit(EXIT_FAILED if result.status == "breach" else EXIT_OK)


AUDIT_EVIDENCE_LIMIT = 100_000  # every offending record, within reason
PDF_INSTALL = 'pip install -e ".[pdf]"'  # as the README says it, from the checkout


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=DEFAULT_CONFIG,
    show_default=True,
)
@click.option("--db", help="Database URL or SQLite file; default: the configuration's.")
@click.option("--recipient", "recipients", multiple=True, metavar="NAME", help="Only them.")
@click.option(
    "--save",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each email as a .eml file into this folder instead of sending it.",
)
def email(config_path: str, db: str | None, recipients: tuple[str, ...], save: Path | None) -> None:
    """Email each recipient their report (or digest) of the latest checks.

    Exit 1 when a send failed, or when nothing at all was sent (or saved): a cron job that
    mails nobody must not look like one that did.
    """

    def saved(mailing: Mailing, path: Path | None) -> None:
        if path is None:
            _skipped(mailing)
        else:
            click.echo(f"wrote {path}")

    try:
        config = load_config(config_path)
        engine = open_db(db, _db_source(db, config_path, config), must_exist=True, config=config)
        outcome = service.email(engine, config, recipients, save=save, saved=saved)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    except service.SaveError as exc:
        raise BadInput(f"--save {exc.filename}: {exc.strerror}") from None
    if save is None:
        for mailing in outcome.skipped:
            _skipped(mailing)
    for sent in outcome.sent:
        outcome_text = (
            "sent" if sent.ok else f"FAILED after {sent.attempts} attempt(s): {sent.error}"
        )
        click.echo(f"{', '.join(sent.to)}: {sent.subject}: {outcome_text}")
    if not (outcome.sent or outcome.written):
        _nothing_sent(outcome.mailings)
    sys.exit(EXIT_FAILED if any(not d.ok for d in outcome.sent) else EXIT_OK)


def _skipped(mailing: Mailing) -> None:
    accounts = ", ".join(mailing.account_ids)
    click.echo(f"skipped {mailing.recipient}: no stored check of {accounts}")


def _nothing_sent(mailings: list[Mailing]) -> None:
    """Exit 1 saying why no email went out."""
    if mailings:
        reason = "no recipient's accounts have a stored check (run 'seller-health check' first)"
    else:
        reason = "no recipient reads an account in the store"
    click.echo(f"nothing sent: {reason}", err=True)
    sys.exit(EXIT_FAILED)


_CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Accounts, schedules and where their secrets are.",
)


@main.group("config")
def config_group() -> None:
    """Work with the configuration file."""


@config_group.command("check")
@_CONFIG_OPTION
@click.option("--db", help="Database URL or SQLite file (overrides the file's).")
def config_check(config_path: str, db: str | None) -> None:
    """Validate the file and what it refers to (secrets present, rule files, schedules, the
    database URL) without side effects; exit 2 with the problems."""
    from seller_health.app.config_check import check_config

    report = check_config(config_path, db)
    if report.problems:
        click.echo(f"{config_path}: {len(report.problems)} problem(s)", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    else:
        click.echo(f"{config_path}: OK")
        for line in report.summary:
            click.echo(line)
    for warning in report.warnings:  # the file works, but perhaps not as meant
        click.echo(f"warning: {warning}", err=True)
    sys.exit(EXIT_BAD_INPUT if report.problems else EXIT_OK)


@config_group.command("init")
@click.option(
    "--output",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write; an existing one is never overwritten.",
)
def config_init(output: Path) -> None:
    """Write a commented starting configuration: one Amazon account and one recipient to fill
    in, the mail server commented out; 'config check' then says what is still missing."""
    from seller_health.config import write_starter

    try:
        write_starter(output)
    except FileExistsError:
        raise BadInput(f"{output} already exists: not overwritten (use --output)") from None
    except OSError as exc:
        raise BadInput(f"--output {output}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}: fill in the account, then run 'seller-health config check'")


@main.command("run")
@_CONFIG_OPTION
@click.option("--db", help="Database URL or SQLite file (overrides the file's).")
@click.option(
    "--run-now",
    is_flag=True,
    help="Run every scheduled account once at start, then follow the schedules.",
)
@click.option(
    "--reports/--no-reports",
    default=True,
    show_default=True,
    help="Also fetch the marketplaces' reports (Amazon: account health, feedback).",
)
def run_command(config_path: str, db: str | None, run_now: bool, reports: bool) -> None:
    """Run the scheduler: each account's sync and check, and the digests, on their schedules.

    Logs one JSON line per job on stderr; SIGTERM or Ctrl-C stops cleanly (exit 0).
    """
    from seller_health.app.daemon import run_daemon

    try:
        config = load_config(config_path)
        source = _db_source(db, config_path, config)
        code = run_daemon(
            config,
            lambda: open_db(db, source, config=config),
            run_now=run_now,
            reports=reports,
        )
    except ConfigError as exc:
        for problem in exc.problems[1:]:
            click.echo(f"  also: {problem}", err=True)
        raise BadInput(str(exc)) from None
    sys.exit(code)


def _listing(wanted: str, accounts: list[str], most: int = 20) -> str:
    """The known accounts, for an error about an unknown one, so the typo is fixed without
    another command; a long list is cut short, after the likeliest ones."""
    from difflib import get_close_matches

    if not accounts:
        return "the store has no accounts: run 'seller-health import DIR' first"
    close = get_close_matches(wanted, accounts, n=3)
    shown = ", ".join(accounts[:most])
    more = f", and {len(accounts) - most} more" if len(accounts) > most else ""
    guess = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{guess}known: {shown}{more}"


@main.command()
@click.argument("account")
@click.argument("rule", required=False)
@click.option("--db", help="Database URL or SQLite file.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Runs shown, the latest ones.",
)
def history(account: str, rule: str | None, db: str | None, limit: int) -> None:
    """How ACCOUNT's rules moved over its stored check runs (one RULE: a table of runs)."""
    from seller_health.reports.trend import account_trend, render_account_trend, render_rule_trend

    engine = open_db(db, _db_source(db), must_exist=True)
    known = service.known_accounts(engine)
    if account not in known:
        raise BadInput(f"no such account in the store: {account} ({_listing(account, known)})")
    try:
        trend = account_trend(engine, account, rule, limit=limit)
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    if rule is None:
        click.echo(render_account_trend(account, trend), nl=False)
    else:
        click.echo(render_rule_trend(account, rule, trend[rule]), nl=False)


@main.group("runs")
def runs_group() -> None:
    """Stored check runs: list them (for 'report --run'), show one, delete some."""


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else format_instant(moment.replace(microsecond=0))


def _status(status: str) -> str:
    from seller_health.reports.text import LABELS

    return LABELS.get(status, status)


def _runs_table(found: list[service.RunSummary]) -> list[str]:
    """One line per run; "data until" is the newest record the run could see."""
    header = ["run", "ran at", "as of", "data until", "accounts", "worst"]
    rows = [
        [
            str(run.run_id),
            _when(run.started_at),
            _when(run.as_of),
            _when(run.data_until),
            str(run.accounts),
            _status(run.status),
        ]
        for run in found
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {0, 4}
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in [header, *rows]
    ]


@runs_group.command("list")
@click.option("--db", help="Database URL or SQLite file.")
@click.option(
    "--account", "accounts", multiple=True, metavar="ID", help="Only runs of this account."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Runs shown."
)
def runs_list(db: str | None, accounts: tuple[str, ...], limit: int) -> None:
    """Stored runs, newest first: when each ran, its as-of, the newest record it could see,
    its accounts and worst status."""
    engine = open_db(db, _db_source(db), must_exist=True)
    try:
        found = service.runs(engine, accounts or None, limit=limit)
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    if not found:
        click.echo("no check run stored" + (f" for {', '.join(accounts)}" if accounts else ""))
        return
    click.echo("\n".join(_runs_table(found)))


@runs_group.command("show")
@click.argument("run_id", type=int)
@click.option("--db", help="Database URL or SQLite file.")
def runs_show(run_id: int, db: str | None) -> None:
    """RUN_ID's accounts, worst first, with their status and the rules that warned or
    breached."""
    from seller_health.model.results import STATUS_ORDER

    engine = open_db(db, _db_source(db), must_exist=True)
    try:
        run, accounts = service.run_details(engine, run_id)
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    click.echo("\n".join(_runs_table([run])))
    click.echo("")
    accounts.sort(key=lambda a: (-STATUS_ORDER.get(a.status, 0), a.account_id))
    width = max([len("account"), *(len(a.account_id) for a in accounts)])
    click.echo(f"{'account':{width}}  {'status':7}  failing rules".rstrip())
    for account in accounts:  # one failing rule a line: it fits a terminal
        failing = [f"{rule} ({_status(status)})" for rule, status in account.failing] or ["-"]
        click.echo(f"{account.account_id:{width}}  {_status(account.status):7}  {failing[0]}")
        for rule in failing[1:]:
            click.echo(f"{'':{width}}  {'':7}  {rule}")


@runs_group.command("delete")
@click.argument("run_ids", nargs=-1, required=True, type=int, metavar="RUN_ID...")
@click.option("--db", help="Database URL or SQLite file.")
@click.option("--yes", is_flag=True, help="Delete; without it, only say what would be deleted.")
def runs_delete(run_ids: tuple[int, ...], db: str | None, yes: bool) -> None:
    """Delete runs with their results, in one transaction (all or none): a check of the wrong
    data stops being the latest for 'report' and 'email'. Without --yes: exit 2, saying what
    would be deleted."""
    engine = open_db(db, _db_source(db), must_exist=True)
    try:
        found = service.delete_runs(engine, run_ids, dry_run=not yes)
    except LookupError as exc:
        raise BadInput(str(exc.args[0])) from None
    verb = "deleted" if yes else "would delete"
    for run in found:
        click.echo(
            f"{verb} run {run.run_id}: as of {_when(run.as_of)}, ran {_when(run.started_at)}, "
            f"{run.accounts} account(s), worst {_status(run.status)}"
        )
    if not yes:
        raise BadInput("nothing deleted: add --yes to delete")
