"""Who gets which report: recipients from the configuration, reports from the store, sent by mail.

A recipient with one account (a seller) gets that account's report; one with several (an
agency) gets the digest, unless the configuration says otherwise. Each report is in the
recipient's language, else the account's, and dates in the matching time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import Engine, select

from seller_health.config import Config, ConfigError, Recipient
from seller_health.engine.results import CheckResult
from seller_health.mailer import Delivery, send
from seller_health.reports.email import compose
from seller_health.reports.html import render_page, report_page, rules_by_id
from seller_health.reports.i18n import available_languages
from seller_health.store.history import load_latest
from seller_health.store.models import Account

ACCOUNTS = Account.__table__


@dataclass(frozen=True)
class Mailing:
    """One email to prepare: a report of these accounts, for this recipient, in their language."""

    recipient: str
    to: tuple[str, ...]
    kind: str  # account | digest
    account_ids: tuple[str, ...]
    language: str
    timezone: str


def _stored_accounts(engine: Engine) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ACCOUNTS.c.account_id, ACCOUNTS.c.locale, ACCOUNTS.c.timezone))
        return {r.account_id: {"locale": r.locale, "timezone": r.timezone} for r in rows}


def plan(
    engine: Engine, config: Config, *, recipients: Sequence[str] | None = None
) -> list[Mailing]:
    """The emails the configuration asks for, in a stable order."""
    stored = _stored_accounts(engine)
    unknown = sorted(set(recipients or ()) - set(config.recipients))
    if unknown:
        raise ConfigError(f"no such recipient: {', '.join(unknown)}")
    languages = set(available_languages())
    mailings = []
    for name, recipient in sorted(config.recipients.items()):
        if recipients and name not in recipients:
            continue
        accounts = _accounts_of(recipient, config, stored)
        if not accounts:
            continue
        digest = recipient.digest if recipient.digest is not None else len(accounts) > 1
        groups = [tuple(accounts)] if digest else [(a,) for a in accounts]
        for group in groups:
            first = group[0]
            settings = config.accounts.get(first)
            language = (
                recipient.locale
                or (settings.locale if settings else None)
                or stored.get(first, {}).get("locale")
                or "en"
            )
            timezone = (
                recipient.timezone
                or (settings.timezone if settings else None)
                or stored.get(first, {}).get("timezone")
                or "UTC"
            )
            mailings.append(
                Mailing(
                    recipient=name,
                    to=tuple(recipient.email),
                    kind="digest" if digest else "account",
                    account_ids=group,
                    language=language if language in languages else "en",
                    timezone=timezone,
                )
            )
    return mailings


def _accounts_of(recipient: Recipient, config: Config, stored: dict[str, dict]) -> list[str]:
    if "*" in recipient.accounts:
        return sorted(set(stored) | set(config.accounts))
    return list(dict.fromkeys(recipient.accounts))


def prepare(engine: Engine, config: Config, mailing: Mailing) -> EmailMessage | None:
    """The email of one mailing from the accounts' latest checks; None if none was checked."""
    if config.smtp is None:
        raise ConfigError("smtp: no mail server configured")
    result = load_latest(engine, mailing.account_ids)
    if not result.accounts:
        return None
    return message_for(engine, config, mailing, result)


def message_for(
    engine: Engine, config: Config, mailing: Mailing, result: CheckResult
) -> EmailMessage:
    assert config.smtp is not None
    page = report_page(
        engine,
        result,
        kind=mailing.kind,
        language=mailing.language,
        timezone=mailing.timezone,
        rules=rules_by_id(),
    )
    return compose(
        sender=config.smtp.sender,
        to=mailing.to,
        subject=page.subject,
        html=render_page(page, "html"),
        text=render_page(page, "text"),
    )


def deliver(
    engine: Engine, config: Config, mailings: Sequence[Mailing]
) -> tuple[list[Delivery], list[Mailing]]:
    """Send the mailings; returns what each send did and the mailings with nothing to report."""
    if config.smtp is None:
        raise ConfigError("smtp: no mail server configured")
    messages, empty = [], []
    for mailing in mailings:
        message = prepare(engine, config, mailing)
        if message is None:
            empty.append(mailing)
        else:
            messages.append(message)
    return (send(config.smtp, messages) if messages else []), empty


def deliver_account_report(
    engine: Engine, config: Config, account_id: str, run_id: int | None = None
) -> list[Delivery]:
    """After an account's scheduled check: its report to every recipient who reads it alone."""
    mailings = [
        m for m in plan(engine, config) if m.kind == "account" and m.account_ids == (account_id,)
    ]
    return deliver(engine, config, mailings)[0]


def deliver_digest(engine: Engine, config: Config, recipient: str) -> list[Delivery]:
    """On a recipient's digest schedule: the digest of their accounts' latest checks."""
    mailings = [m for m in plan(engine, config, recipients=[recipient]) if m.kind == "digest"]
    return deliver(engine, config, mailings)[0]
