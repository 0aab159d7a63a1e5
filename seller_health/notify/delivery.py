"""Who gets which report: recipients from the configuration, reports from the store, sent by mail.

A recipient with one account (a seller) gets that account's report; one with several (an
agency) gets the digest, unless the configuration says otherwise. Each report is in the
recipient's language, else the account's, and dates in the matching time zone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import Engine

from seller_health.config import Config, ConfigError, Recipient
from seller_health.engine.wording import localizer
from seller_health.model.results import CheckResult
from seller_health.notify.mailer import Delivery, send
from seller_health.reports.email import compose
from seller_health.reports.html import render_page, rules_by_id
from seller_health.reports.reading import reading
from seller_health.reports.view import build_page, gather
from seller_health.store.accounts import account_profiles
from seller_health.store.history import load_latest


@dataclass(frozen=True)
class Mailing:
    """One email to prepare: a report of these accounts, for this recipient, in their language."""

    recipient: str
    to: tuple[str, ...]
    kind: str  # account | digest
    account_ids: tuple[str, ...]
    language: str
    timezone: str


@dataclass(frozen=True)
class Reader:
    """Someone who reads an account's news, in their language and time zone (alerts)."""

    recipient: str
    to: tuple[str, ...]
    language: str
    timezone: str


def _stored_accounts(
    engine: Engine, account_ids: Sequence[str] | None = None
) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        profiles = account_profiles(conn, account_ids)
    return {i: {"locale": p["locale"], "timezone": p["timezone"]} for i, p in profiles.items()}


def _reading(
    recipient: Recipient, account_id: str, config: Config, stored: dict[str, dict[str, str]]
) -> tuple[str, str]:
    """The language and time zone ``recipient`` reads ``account_id`` in: their own, else the
    account's in the configuration, else the account's as imported, else English and UTC."""
    settings = config.accounts.get(account_id)
    found = reading(
        language=recipient.locale,
        timezone=recipient.timezone,
        fallbacks=[
            (settings.locale, settings.timezone) if settings else (None, None),
            (stored.get(account_id, {}).get("locale"), stored.get(account_id, {}).get("timezone")),
        ],
    )
    return found.language, found.timezone


def readers(engine: Engine, config: Config, account_id: str) -> list[Reader]:
    """Everyone who reads ``account_id``, alone or in a digest, in the language and zone a
    report of that account alone would use; in the order of their names."""
    stored = _stored_accounts(engine, [account_id])
    found = []
    for name, recipient in sorted(config.recipients.items()):
        if recipient.covers(account_id):
            language, timezone = _reading(recipient, account_id, config, stored)
            found.append(Reader(name, tuple(recipient.email), language, timezone))
    return found


def plan(
    engine: Engine, config: Config, *, recipients: Sequence[str] | None = None
) -> list[Mailing]:
    """The emails the configuration asks for, in a stable order."""
    stored = _stored_accounts(engine)
    unknown = sorted(set(recipients or ()) - set(config.recipients))
    if unknown:
        raise ConfigError(f"no such recipient: {', '.join(unknown)}")
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
            language, timezone = _reading(recipient, group[0], config, stored)
            mailings.append(
                Mailing(
                    recipient=name,
                    to=tuple(recipient.email),
                    kind="digest" if digest else "account",
                    account_ids=group,
                    language=language,
                    timezone=timezone,
                )
            )
    return mailings


def _accounts_of(recipient: Recipient, config: Config, stored: dict[str, dict]) -> list[str]:
    if "*" in recipient.accounts:
        return sorted(set(stored) | set(config.accounts))
    return list(dict.fromkeys(recipient.accounts))


def compose_all(
    engine: Engine, config: Config, mailings: Sequence[Mailing], *, batch: int = 100
) -> Iterator[tuple[Mailing, EmailMessage | None]]:
    """Each mailing's email from its accounts' latest checks (None: never checked).

    Mailings are read from the store a batch of accounts at a time, so a thousand reports cost
    a few dozen queries and the memory of one batch.
    """
    if config.smtp is None:
        raise ConfigError("smtp: no mail server configured")
    rules = rules_by_id()
    pending = list(mailings)
    while pending:
        group, wanted = [], set()
        while pending and (not group or len(wanted | set(pending[0].account_ids)) <= batch):
            wanted |= set(pending[0].account_ids)
            group.append(pending.pop(0))
        result = load_latest(engine, sorted(wanted))
        ctx = gather(engine, result, rules=rules)
        checked = {a.account_id: a for a in result.accounts}
        for mailing in group:
            accounts = [checked[i] for i in mailing.account_ids if i in checked]
            if not accounts:
                yield mailing, None
                continue
            as_of = max((r.window_end for a in accounts for r in a.results), default=result.as_of)
            page = build_page(
                CheckResult(as_of=as_of, accounts=accounts),
                ctx,
                localizer(mailing.language, mailing.timezone),
                kind=mailing.kind,
            )
            yield (
                mailing,
                compose(
                    sender=config.smtp.sender,
                    to=mailing.to,
                    subject=page.subject,
                    html=render_page(page, "html"),
                    text=render_page(page, "text"),
                ),
            )


def deliver(
    engine: Engine, config: Config, mailings: Sequence[Mailing]
) -> tuple[list[Delivery], list[Mailing]]:
    """Send the mailings; returns what each send did and the mailings with nothing to report."""
    if config.smtp is None:
        raise ConfigError("smtp: no mail server configured")
    messages, empty = [], []
    for mailing, message in compose_all(engine, config, mailings):
        if message is None:
            empty.append(mailing)
        else:
            messages.append(message)
    return (send(config.smtp, messages) if messages else []), empty


def deliver_account_report(engine: Engine, config: Config, account_id: str) -> list[Delivery]:
    """After an account's scheduled check: its report (of that check, the newest moment
    checked) to every recipient who reads it alone, but those with a ``schedule`` of their own:
    they get it then (:func:`deliver_digest`), not after every check as well."""
    readers = [
        name for name in config.recipients_of(account_id) if not config.recipients[name].schedule
    ]
    if not readers:
        return []
    mailings = [
        m
        for m in plan(engine, config, recipients=readers)
        if m.kind == "account" and m.account_ids == (account_id,)
    ]
    return deliver(engine, config, mailings)[0]


def deliver_digest(engine: Engine, config: Config, recipient: str) -> list[Delivery]:
    """On a recipient's schedule: what they read, of their accounts' latest checks. The digest,
    or for a seller of one account (or ``digest = false``) each account's report: a schedule
    says when they want their mail, whichever kind it is."""
    return deliver(engine, config, plan(engine, config, recipients=[recipient]))[0]
