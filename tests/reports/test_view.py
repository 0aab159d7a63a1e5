"""The report page: sentences, bars, trends, changes and evidence, before any template."""

from datetime import timedelta
from fractions import Fraction

import pytest

from seller_health.engine.evaluate import evaluate
from seller_health.engine.results import Rolloff, RuleResult
from seller_health.engine.rules import builtin_pack
from seller_health.reports.html import report_page, rules_by_id
from seller_health.reports.i18n import Localizer
from seller_health.reports.view import bar, headroom, message, rolloff, trend
from seller_health.store.history import Point, save_run
from tests.factory import Seller, T, ago

EN = Localizer("en")


def _result(**fields) -> RuleResult:
    base = dict(
        rule="amazon.order_defect_rate",
        title="Order Defect Rate",
        pack="amazon",
        status="breach",
        unit="ratio",
        value=Fraction(1, 80),
        numerator=5,
        denominator=400,
        window_start=T - timedelta(days=60),
        window_end=T,
        thresholds={"breach": ">= 0.01", "warn": ">= 0.0075"},
        headroom=-2,
        evidence=[],
        evidence_total=0,
        message="",
    )
    return RuleResult(**(base | fields))


def test_headroom_speaks_of_failures_and_the_next_status():
    assert headroom(_result(headroom=-2), EN) == "Back to OK with 2 failures fewer."
    assert headroom(_result(headroom=-1), EN) == "Back to OK with one failure fewer."
    ok = _result(status="ok", headroom=3)
    assert headroom(ok, EN) == "3 more failures would move it to At risk."
    warn = _result(status="warn", headroom=1)
    assert headroom(warn, EN) == "One more failure would move it to Breach."
    no_warn = _result(status="ok", headroom=0, thresholds={"breach": ">= 0.01"})
    assert headroom(no_warn, EN) == "No headroom: the next failure moves it to Breach."
    assert headroom(_result(headroom=None), EN) is None


def test_rolloff_gives_the_date_and_the_value_then():
    r = _result(rolloff=Rolloff(T + timedelta(days=11), Fraction(3, 400), 3, 400))
    assert rolloff(r, EN) == (
        "The oldest failure leaves the window on November 12, 2026; the value would then be 0.75%."
    )
    # A reader in Sydney sees the next day.
    sydney = Localizer("en", "Australia/Sydney")
    assert "November 12, 2026" in rolloff(
        _result(rolloff=Rolloff(T + timedelta(days=10, hours=14), None, 0, 0)), sydney
    )


def test_bar_scales_value_and_thresholds_to_the_track():
    # Track top = 1.25 x the largest of 1.25%, 1% and 0.75% = 1.5625%.
    b = bar(_result())
    assert b.fill == 80.0
    assert [(m.status, m.position) for m in b.marks] == [("breach", 64.0), ("warn", 48.0)]
    # A rate that must stay high: 86% against "< 0.95" stays on a 0..100% track.
    high = bar(_result(value=Fraction(86, 100), thresholds={"breach": "< 0.95"}))
    assert high.fill == 86.0 and high.marks[0].position == 95.0
    assert bar(_result(value=None)) is None
    assert bar(_result(thresholds={})) is None


def test_trend_places_points_in_time_and_thresholds_as_lines():
    points = [
        Point(1, T - timedelta(days=2), "ok", 0.005),
        Point(2, T - timedelta(days=1), "warn", 0.008),
        Point(3, T, "breach", 0.0125),
    ]
    chart = trend(points, _result(), EN)
    # Top = 1.25 x 1.25% = 1.5625%; the plot spans x 4..216 and y 4..52 (48 high).
    xs = [x for x, _, _ in chart.dots]
    assert xs == [4.0, 110.0, 216.0]
    assert [y for _, y, _ in chart.dots] == [36.6, 27.4, 13.6]
    assert [s for _, _, s in chart.dots] == ["ok", "warn", "breach"]
    assert chart.limits == [(21.3, "breach"), (29.0, "warn")]
    assert chart.summary == "3 checks from Oct 30, 2026 to Nov 1, 2026: 0.50% then 1.25%"
    assert trend(points[:1], _result(), EN) is None


def test_messages_are_reworded_in_the_readers_language_from_their_template():
    r = _result(
        template="{numerator} of {denominator} {items} had a defect in {days} days ({value})",
        template_values={"numerator": 5, "denominator": 1400, "items": "orders", "days": 60},
    )
    assert message(r, EN) == "5 of 1,400 orders had a defect in 60 days (1.25%)"
    assert message(_result(message="as stored"), EN) == "as stored"


@pytest.fixture
def checked(engine):
    """120 orders; a claim before the first check (0.83%: at risk), a chargeback after (breach)."""
    seller = Seller(
        "acme", name="Acme <script>alert(1)</script>", locale="es", timezone="Europe/Madrid"
    )
    for i in range(120):
        seller.order(
            f"o{i:03}",
            ago(days=10 + i % 40),
            shipped_at=ago(days=9 + i % 40),
            total="19.99",
            currency="EUR",
        )
    seller.event("e1", "a_to_z_claim", ago(days=8), order_id="o001")
    seller.event("e2", "chargeback", ago(days=2), order_id="o002")
    seller.save(engine)
    pack = builtin_pack("amazon")
    save_run(engine, evaluate(engine, [pack], T - timedelta(days=7)))
    result = evaluate(engine, [pack], T)
    save_run(engine, result)
    return result


def test_page_of_an_account_has_evidence_changes_and_actions(engine, checked):
    page = report_page(engine, checked, rules=rules_by_id())
    (account,) = page.accounts
    assert account.name == "Acme <script>alert(1)</script>"  # escaping is the template's job
    odr = next(c for c in account.cards if c.rule == "amazon.order_defect_rate")
    assert odr.status == "breach" and odr.value == "1.67%"
    # oldest purchase first: o002 was bought 12 days ago, o001 11 days ago
    assert [row.cells[0] for row in odr.evidence.rows] == ["o002", "o001"]
    assert odr.evidence.rows[0].cells[-1] == "€19.99"
    assert odr.actions and odr.actions == list(rules_by_id()["amazon.order_defect_rate"].actions)
    # No order in the last 7 days any more: the cancel rate has too little data now.
    assert [(c.title, c.before, c.after, c.worse) for c in account.changes] == [
        ("Order Defect Rate", "At risk", "Breach", True),
        ("Pre-fulfillment Cancel Rate", "OK", "Not enough data", True),
    ]
    assert odr.trend is not None and len(odr.trend.dots) == 2
    assert account.cards[0].status == "breach"  # what needs attention comes first
    assert page.subject == "[Breach] Account health: Acme <script>alert(1)</script>"


def test_page_in_spanish_uses_spanish_figures(engine, checked):
    page = report_page(engine, checked, language="es", timezone="Europe/Madrid")
    odr = next(c for c in page.accounts[0].cards if c.rule == "amazon.order_defect_rate")
    assert odr.value == "1,67\xa0%"
    assert odr.evidence.rows[0].cells[-1] == "19,99\xa0€"


def test_audit_page_tells_each_records_story_and_the_sources(engine, checked):
    page = report_page(engine, checked, kind="audit", evidence_rows=None)
    (account,) = page.accounts
    odr = next(c for c in account.cards if c.rule == "amazon.order_defect_rate")
    story = odr.evidence.rows[0].timeline
    assert [step.split(" — ")[1] for step in story] == ["Purchased", "Shipped", "Chargeback"]
    names = [s.name for s in account.sources]
    assert names[:3] == ["Orders", "Buyer messages", "Feedback, claims and returns"]
    assert account.sources[0].records == "120"


def test_digest_puts_the_worst_account_first(engine):
    Seller("calm", name="A calm shop").order("x", ago(days=3)).save(engine)
    bad = Seller("bad", name="Z troubled shop")
    for i in range(50):
        bad.order(f"b{i}", ago(days=5))
    bad.event("c1", "chargeback", ago(days=1), order_id="b1").save(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    page = report_page(engine, result, kind="digest")
    assert [a.account_id for a in page.accounts] == ["bad"]
    assert [a.account_id for a in page.quiet] == ["calm"]  # not at risk, unchanged: one line
    assert page.total == 2
    assert page.subject == "[Breach] 1 account needs attention"


def test_digest_names_healthy_unchanged_accounts_in_one_line(engine):
    from seller_health.reports.html import render_page

    for name in ("calm", "quiet", "still"):
        Seller(name, name=f"<b>{name}</b> shop").order("x", ago(days=3)).save(engine)
    bad = Seller("bad", name="Troubled")
    for i in range(50):
        bad.order(f"b{i}", ago(days=5))
    bad.event("c1", "chargeback", ago(days=1), order_id="b1").save(engine)
    page = report_page(engine, evaluate(engine, [builtin_pack("amazon")], T), kind="digest")
    html, text = render_page(page), render_page(page, "text")
    assert "4 accounts, worst first" in html
    assert html.count("Not at risk and unchanged:") == 1
    assert "&lt;b&gt;calm&lt;/b&gt; shop" in html and "<b>calm</b>" not in html
    assert "Not at risk and unchanged: <b>calm</b> shop (calm), <b>quiet</b> shop (quiet)" in text
    assert text.index("Troubled") < text.index("Not at risk and unchanged")


def test_message_evidence_shows_the_reply_and_the_conversation(engine):
    seller = Seller("shop")
    seller.order("o1", ago(days=9))
    seller.message("m1", "t1", ago(days=3), "in", order_id="o1", needs_reply=True)
    seller.message("m2", "t1", ago(days=1), "out", order_id="o1")  # 48 hours later: late
    seller.save(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    page = report_page(engine, result, kind="audit", evidence_rows=None)
    card = next(c for c in page.accounts[0].cards if c.rule == "amazon.response_within_24h")
    (row,) = card.evidence.rows
    assert row.cells[0] == "m1" and row.cells[-1] == "10/31/26, 12:00\u202fAM"
    assert [step.split(" — ")[1] for step in row.timeline] == ["Buyer wrote", "Seller replied"]


def test_digest_says_when_an_accounts_last_check_is_older(engine):
    from seller_health.store.history import load_latest

    Seller("fresh", name="Fresh").order("x", ago(days=3)).save(engine)
    Seller("stale", name="Stale").order("y", ago(days=3)).save(engine)
    pack = builtin_pack("amazon")
    save_run(engine, evaluate(engine, [pack], T - timedelta(days=2), ["stale"]))
    save_run(engine, evaluate(engine, [pack], T, ["fresh"]))
    page = report_page(engine, load_latest(engine, ["fresh", "stale"]), kind="digest")
    checked = {a.account_id: a.checked for a in page.accounts + page.quiet}
    assert checked == {"fresh": None, "stale": "last checked Oct 30, 2026, 12:00:00\u202fAM"}
    assert [a.account_id for a in page.accounts] == ["stale"]  # an old check is news


def test_a_new_language_is_only_a_catalog(engine, checked, tmp_path, monkeypatch):
    """No code names the languages: a French catalog dropped beside the others is read as is."""
    import shutil

    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from seller_health.reports import i18n
    from seller_health.reports.html import render_page

    shutil.copytree(i18n.CATALOGS, tmp_path, dirs_exist_ok=True)
    french = Catalog(locale="fr")
    french.add("Breach", "Infraction")
    french.add("Order Defect Rate", "Taux de défauts de commande")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").open("wb") as handle:
        write_po(handle, french)
    monkeypatch.setattr(i18n, "CATALOGS", tmp_path)
    i18n.translations.cache_clear()
    i18n.localizer.cache_clear()
    try:
        assert i18n.available_languages() == ["en", "es", "fr", "it", "pt"]
        assert i18n.best_language("fr_CA") == "fr"
        page = report_page(engine, checked, language="fr", timezone="Europe/Paris")
        odr = next(c for c in page.accounts[0].cards if c.rule == "amazon.order_defect_rate")
        assert odr.title == "Taux de défauts de commande"
        assert odr.value == "1,67\xa0%"  # French figures come from Babel, not the catalog
        assert "Infraction" in render_page(page)
    finally:
        i18n.translations.cache_clear()
        i18n.localizer.cache_clear()


def test_data_quality_notes_are_in_the_readers_language(engine):
    """A stored run keeps each note's template, so its notes are reworded like its messages."""
    from sqlmodel import Session

    from seller_health.store.history import load_run
    from seller_health.store.models import Quarantined, SyncBookmark

    Seller("acme", locale="es").save(engine)
    with Session(engine) as session:
        for key in ("bad-1", "bad-2"):
            session.add(
                Quarantined(
                    account_id="acme",
                    stream="orders",
                    record_key=key,
                    reason="OrderTotal.Amount: not a number",
                    quarantined_at=T,
                )
            )
        refused = "invalid_grant: The refresh token was revoked"
        session.add(
            SyncBookmark(
                account_id="acme",
                stream="feedback",
                pending={"finding": f"needs re-authorisation: {refused}", "refused": refused},
                updated_at=T,
            )
        )
        session.commit()
    run_id = save_run(engine, evaluate(engine, [builtin_pack("amazon")], T))
    stored = load_run(engine, run_id)
    assert stored.accounts[0].notes == [
        "2 orders record(s) from the marketplace could not be read",
        f"feedback: needs re-authorisation: {refused}",
    ]
    (account,) = report_page(engine, stored, language="es").accounts
    assert account.notes == [
        "2 registro(s) de orders recibidos del marketplace no se pudieron leer",
        f"feedback: hay que volver a autorizar el acceso: {refused}",
    ]
