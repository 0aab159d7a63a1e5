"""``seller-health config check``: everything ``run`` would need, checked without side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.triggers.base import BaseTrigger

from seller_health.app.daemon import wanted_jobs  # the very list ``run`` schedules
from seller_health.config import (
    Config,
    ConfigError,
    InvalidConfig,
    inline_password,
    load_config,
)
from seller_health.connectors.registry import broken_plugins


@dataclass
class CheckReport:
    """What ``config check`` found: problems (exit 2 if any), warnings (the file works, but
    not as one may think) and a summary to print."""

    problems: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _next_fire(trigger: BaseTrigger | None, now: datetime) -> str:
    """The next run, in the schedule's own zone (a CronTrigger answers in its zone)."""
    if trigger is None:
        return "no schedule"
    moment = trigger.get_next_fire_time(None, now)
    return "never fires" if moment is None else f"next {moment.isoformat(timespec='minutes')}"


def _check_jobs(config: Config, report: CheckReport) -> None:
    """``run`` refuses a file that schedules nothing; other commands use it, so a warning."""
    if not wanted_jobs(config):
        report.warnings.append(
            "nothing to schedule: 'seller-health run' would refuse this file (give accounts "
            "a 'schedule', and recipients one for digests, which also need [smtp])"
        )


def check_config(
    path: str | Path, db: str | None = None, *, now: datetime | None = None
) -> CheckReport:
    """Everything ``run`` would need, checked without side effects: no database is created,
    no network is touched, no secret is printed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from seller_health.store.db import database_url

    report = CheckReport()
    whole = True  # False: what follows checks the file without its faulty parts
    try:
        config = load_config(path)
    except InvalidConfig as exc:  # the rest of the file is still checked, for every problem
        report.problems.extend(exc.problems)
        if exc.rest is None:
            return report
        config, whole = exc.rest, False
    except ConfigError as exc:
        report.problems.extend(exc.problems)
        return report
    for ref in config.secret_refs():
        try:
            ref.read()
        except ConfigError as exc:
            report.problems.append(str(exc))
    for account_id in config.accounts:
        try:
            config.account_packs(account_id)
        except ConfigError as exc:
            report.problems.append(str(exc))
    shown_url = "?"
    try:
        url = make_url(database_url(config.database_for(db, password=False)))
        shown_url = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                report.problems.append(
                    f"database: {shown_url} is in memory: schedules and history would be lost"
                )
            elif Path(url.database).is_dir():
                report.problems.append(f"database: {url.database} is a directory, not a file")
            elif not Path(url.database).parent.is_dir():
                report.problems.append(
                    f"database: directory {Path(url.database).parent} does not exist"
                )
        else:
            url.get_dialect().import_dbapi()
    except ArgumentError as exc:
        report.problems.append(f"database: not a database URL: {exc}")
    except ValueError:  # a port that is not a number: the message may quote the URL
        report.problems.append("database: not a database URL: its port is not a number")
    except ImportError as exc:
        report.problems.append(f"database: the driver is not installed ({exc.name})")
    if inline_password(config.database):
        report.warnings.append(
            "database: the URL holds a password, and secrets do not belong in this file: "
            "put it in an environment variable and name it in database_password_env"
        )
    if whole:  # a schedule set aside as faulty is not "nothing to schedule"
        _check_jobs(config, report)
    report.warnings.extend(broken_plugins())
    moment = now or datetime.now(UTC)
    lines = report.summary
    lines.append(f"database: {shown_url}")
    lines.append(f"accounts: {len(config.accounts)}")
    for account_id, account in config.accounts.items():
        rules = ", ".join(Path(r).name for r in account.rules) if account.rules else "default"
        tz = account.timezone or "UTC"
        schedule = f"{account.schedule!r} ({tz}), " if account.schedule else ""
        fires = _next_fire(account.trigger(), moment)
        lines.append(f"  {account_id}: {account.marketplace}; {schedule}{fires}; rules: {rules}")
    lines.append(f"recipients: {len(config.recipients)}")
    for name, recipient in config.recipients.items():
        covered = "every account" if "*" in recipient.accounts else ", ".join(recipient.accounts)
        if recipient.schedule:
            tz = recipient.timezone or "UTC"
            when = (
                f"digest {recipient.schedule!r} ({tz}), {_next_fire(recipient.trigger(), moment)}"
            )
            if config.smtp is None:
                when += " (no [smtp]: not sent)"
        else:
            when = "no digest schedule"
        lines.append(f"  {name}: {covered}; {when}")
    lines.append(
        f"smtp: {config.smtp.host if config.smtp else 'not configured: nothing is mailed'}"
    )
    return report
