"""What every rule of one evaluation shares: the moment, the connection, the accounts, and
facts read once per run (currencies, ages, the marketplaces' own targets). Apart from
``evaluate.py`` so that the metric kinds can be handed it without importing the evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import BigInteger, Connection, func, select, type_coerce

from seller_health.engine.pack import Rule
from seller_health.engine.recordsets import ORDERS
from seller_health.engine.thresholds import Comparison, Condition
from seller_health.store.models import Account, OfficialMetric, SyncBookmark
from seller_health.timeutil import MICROS_PER_DAY, to_micros

DEFAULT_EVIDENCE_LIMIT = 100


@dataclass
class Evaluation:
    """Per-run facts shared by every rule: T, the accounts, their currencies and ages."""

    conn: Connection
    as_of: datetime
    accounts: dict[str, Account]
    evidence_limit: int = DEFAULT_EVIDENCE_LIMIT
    _currencies: dict[str, str | None] | None = None
    _earliest: dict[str, int | None] | None = None
    _official: dict[tuple[str, str], dict[str, object]] | None = None
    _unknown: dict[str, set[str]] | None = None

    @property
    def unknown_fields(self) -> dict[str, set[str]]:
        """Per account, the order fields its marketplace API never reports (set by sync)."""
        if self._unknown is None:
            table = SyncBookmark.__table__
            rows = self.conn.execute(
                select(table.c.account_id, table.c.pending).where(
                    table.c.account_id.in_(list(self.accounts)), table.c.stream == "orders"
                )
            )
            self._unknown = {a: set((p or {}).get("unknown_fields", [])) for a, p in rows}
        return self._unknown

    @property
    def official(self) -> dict[tuple[str, str], dict[str, object]]:
        """The marketplace's own figures per (account, rule), where a connector fetched them."""
        if self._official is None:
            table = OfficialMetric.__table__
            rows = self.conn.execute(
                select(table).where(table.c.account_id.in_(list(self.accounts)))
            )
            self._official = {(r.account_id, r.rule_id): dict(r._mapping) for r in rows}
        return self._official

    @property
    def t(self) -> int:
        return to_micros(self.as_of)

    @property
    def currencies(self) -> dict[str, str | None]:
        """Each account's most frequent order currency known at T (ties: alphabetical)."""
        if self._currencies is None:
            rows = self.conn.execute(
                select(ORDERS.c.account_id, ORDERS.c.currency, func.count())
                .where(
                    ORDERS.c.account_id.in_(list(self.accounts)),
                    ORDERS.c.purchased_at < self.t,
                    ORDERS.c.currency.is_not(None),
                    ORDERS.c.currency != "",
                )
                .group_by(ORDERS.c.account_id, ORDERS.c.currency)
            )
            best: dict[str, tuple[int, str]] = {}
            for account_id, currency, n in rows:
                key = (-n, currency)
                if account_id not in best or key < best[account_id]:
                    best[account_id] = key
            self._currencies = {a: (best[a][1] if a in best else None) for a in self.accounts}
        return self._currencies

    @property
    def earliest_purchase(self) -> dict[str, int | None]:
        if self._earliest is None:
            rows = self.conn.execute(
                select(
                    ORDERS.c.account_id, type_coerce(func.min(ORDERS.c.purchased_at), BigInteger)
                )
                .where(ORDERS.c.account_id.in_(list(self.accounts)), ORDERS.c.purchased_at < self.t)
                .group_by(ORDERS.c.account_id)
            )
            found = dict(rows.all())
            self._earliest = {a: found.get(a) for a in self.accounts}
        return self._earliest

    def rule_for(self, rule: Rule, account_id: str) -> Rule:
        """The rule with the marketplace's own target for this account, where it reported one."""
        official = self.official.get((account_id, rule.id))
        target = official.get("target") if official else None
        reference = rule.reference
        if target is None or reference is None:
            return rule
        bound = Fraction(str(target))
        text = f"{reference.value.op} {Decimal(str(target)).normalize():f}"
        condition = Condition(Comparison(reference.value.op, bound, text), reference.count)
        return replace(rule, **{"breach" if rule.breach else "warn": condition})

    def orders_between(self, accounts: Sequence[str], days: int) -> dict[str, int]:
        """Orders of any status purchased in [T - days, T), per account."""
        start = self.t - days * MICROS_PER_DAY
        rows = self.conn.execute(
            select(ORDERS.c.account_id, func.count())
            .where(
                ORDERS.c.account_id.in_(list(accounts)),
                ORDERS.c.purchased_at >= start,
                ORDERS.c.purchased_at < self.t,
            )
            .group_by(ORDERS.c.account_id)
        )
        return dict(rows.all())
