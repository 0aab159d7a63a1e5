"""The report page: sentences, bars, trends, changes and evidence, before any template."""

from datetime import timedelta
from fractions import Fraction

import pytest

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack
from seller_health.engine.wording import PLAIN, Localizer
from seller_health.model.results import Rolloff, RuleResult
from seller_health.reports.html import render_page, report_page, rules_by_id
from seller_health.reports.view import bar, headroom, official_why, rolloff, trend
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


def test_headroom_says_where_more_or_fewer_failures_lead():
    """The sentence words metrics.md's steps (more failures reaching each worse status) and
    recovery (fewer giving each better one); a status no number reaches is left out."""
    ok = _result(status="ok", headroom=8, steps={"warn": 7, "breach": 9})
    assert headroom(ok, EN) == "7 more failures → At risk; 9 more failures → Breach."
    warn = _result(status="warn", headroom=1, steps={"breach": 2}, recovery={"ok": 1})
    assert headroom(warn, EN) == "2 more failures → Breach; 1 failure fewer → OK."
    breach = _result(status="breach", headroom=-3, recovery={"warn": 3, "ok": 5})
    assert headroom(breach, EN) == "3 failures fewer → At risk; 5 failures fewer → OK."
    same = _result(status="ok", headroom=0, steps={"warn": 1, "breach": 1})
    assert headroom(same, EN) == "1 more failure → Breach."  # the farther status only
    back = _result(status="breach", headroom=-1, recovery={"warn": 1, "ok": 1})
    assert headroom(back, EN) == "1 failure fewer → OK."
    unreachable = _result(status="ok", headroom=None, steps={"breach": None})
    assert headroom(unreachable, EN) is None
    assert headroom(_result(headroom=None), EN) is None  # no steps: a mean, or no data
    spanish = headroom(breach, Localizer("es"))
    assert spanish == "3 fallos menos → En riesgo; 5 fallos menos → OK."


@pytest.mark.parametrize(
    ("n_defects", "expected"),
    [
        (12, "3 failures fewer → At risk; 5 failures fewer → OK."),  # 9/1000 warns, 7 is ok
        (8, "2 more failures → Breach; 1 failure fewer → OK."),
        (1, "7 more failures → At risk; 9 more failures → Breach."),  # 8/1000 >= 0.75%
    ],
)
def test_headroom_of_an_evaluated_rate_rule(engine, n_defects, expected):
    """n defects in 1000 orders against breach >= 1% and warn >= 0.75%, evaluated."""
    seller = Seller("a", name="Shop")
    for i in range(1000):
        seller.order(f"o{i:04}", ago(days=5), shipped_at=ago(days=4))
    for i in range(n_defects):
        seller.event(f"e{i}", "chargeback", ago(days=1), order_id=f"o{i:04}")
    seller.save(engine)
    page = report_page(engine, evaluate(engine, [builtin_pack("amazon")], T))
    odr = next(c for c in page.accounts[0].cards if c.rule == "amazon.order_defect_rate")
    assert odr.headroom == expected


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


def test_bar_scale_is_the_rules_own_so_values_look_as_different_as_they_are():
    """ODR (breach >= 1%) is drawn on 0..2% whatever its value: 1.28% and 5.36% differ (the
    second is past the end), and the breach limit sits in the middle of the track."""
    low, high = (
        bar(_result(value=Fraction(128, 10000)), EN),
        bar(_result(value=Fraction(536, 10000))),
    )
    assert (low.fill, high.fill) == (64.0, 100.0)
    assert [(m.status, m.position, m.label, m.above) for m in low.marks] == [
        ("breach", 50.0, "1.00%", True),
        ("warn", 37.5, "0.75%", False),
    ]
    assert (low.start, low.end) == ("0.00%", "2.00%")
    # A rate that must stay high: < 95% breach, < 96% warn on 90..100%; the two labels sit
    # on opposite sides of the track, 10% of its width apart.
    tracking = dict(
        thresholds={"breach": "< 0.95", "warn": "< 0.96"}, rule="amazon.valid_tracking_rate"
    )
    high = bar(_result(**tracking, value=Fraction(955, 1000)), EN)
    assert high.fill == 55.0 and (high.start, high.end) == ("90.00%", "100.00%")
    assert [(m.position, m.above) for m in high.marks] == [(50.0, True), (60.0, False)]
    assert [m.label for m in high.above] == ["95.00%"] and [m.label for m in high.below] == [
        "96.00%"
    ]
    assert bar(_result(**tracking, value=Fraction(86, 100))).fill == 0.0  # past the low end
    # Only a warn limit: it is the reference (on-time delivery < 97%: 94..100%).
    otd = bar(_result(thresholds={"warn": "< 0.97"}, value=Fraction(97, 100)))
    assert otd.marks[0].position == 50.0 and otd.fill == 50.0
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
    # One stored point that is this run: nothing to draw yet.
    assert trend(points[2:], _result(), EN) is None


def test_trend_ends_with_the_results_own_value_when_it_was_not_stored():
    """An audit run is not stored: its value is added as the last point, once."""
    points = [
        Point(1, T - timedelta(days=20), "warn", 0.008),
        Point(2, T - timedelta(days=10), "breach", 0.0125),
    ]
    chart = trend(points, _result(value=Fraction(1, 100)), EN)
    assert len(chart.dots) == 3 and chart.dots[-1][0] == 216.0
    assert chart.dots[-1][2] == "breach"
    assert chart.summary == "3 checks from Oct 12, 2026 to Nov 1, 2026: 0.80% then 1.00%"
    # Stored already (its run's as_of is the window end): not drawn twice.
    stored = [*points, Point(3, T, "breach", 0.01)]
    assert len(trend(stored, _result(value=Fraction(1, 100)), EN).dots) == 3
    # A single stored point plus the audited value is a line.
    assert len(trend(points[:1], _result(), EN).dots) == 2


def test_bars_and_trends_keep_the_sign():
    """NPS +40 and -40 must not draw alike: the track runs from min(0, lowest) up."""
    nps = dict(rule="service.nps", unit="score", thresholds={"warn": "< 0"}, headroom=None)
    up = bar(_result(**nps, status="ok", value=Fraction(40)))
    down = bar(_result(**nps, status="warn", value=Fraction(-40)))
    assert up.fill == 80.0 and up.marks[0].position == 0.0
    assert down.fill == 0.0 and down.marks[0].position == 80.0
    points = [
        Point(1, T - timedelta(days=2), "ok", 40.0),
        Point(2, T - timedelta(days=1), "warn", -40.0),
        Point(3, T, "ok", 40.0),
    ]
    chart = trend(points, _result(**nps, status="ok", value=Fraction(40)), EN)
    ys = [y for _, y, _ in chart.dots]
    assert ys[0] == ys[2] < chart.limits[0][0] < ys[1]  # +40 above the zero line, -40 below


def test_messages_are_reworded_in_the_readers_language_from_their_template():
    r = _result(
        template="{numerator} of {denominator} {items} had a defect in {days} days ({value})",
        template_values={"numerator": 5, "denominator": 1400, "items": "orders", "days": 60},
    )
    assert EN.message(r) == "5 of 1,400 orders had a defect in 60 days (1.25%)"
    assert PLAIN.message(r) == "5 of 1400 orders had a defect in 60 days (1.25%)"  # as stored
    assert EN.message(_result(message="as stored")) == "as stored"


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

    from seller_health.engine import wording
    from seller_health.reports.html import render_page

    shutil.copytree(wording.CATALOGS, tmp_path, dirs_exist_ok=True)
    french = Catalog(locale="fr")
    french.add("Breach", "Infraction")
    french.add("Order Defect Rate", "Taux de défauts de commande")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "fr" / "LC_MESSAGES" / "messages.po").open("wb") as handle:
        write_po(handle, french)
    monkeypatch.setattr(wording, "CATALOGS", tmp_path)
    wording.translations.cache_clear()
    wording.localizer.cache_clear()
    try:
        assert wording.available_languages() == ["en", "es", "fr", "it", "pt"]
        assert wording.best_language("fr_CA") == "fr"
        page = report_page(engine, checked, language="fr", timezone="Europe/Paris")
        odr = next(c for c in page.accounts[0].cards if c.rule == "amazon.order_defect_rate")
        assert odr.title == "Taux de défauts de commande"
        assert odr.value == "1,67\xa0%"  # French figures come from Babel, not the catalog
        assert "Infraction" in render_page(page)
    finally:
        wording.translations.cache_clear()
        wording.localizer.cache_clear()


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


def test_account_report_says_when_its_check_is_older(engine):
    """A stale account's "last checked" date is shown in the account report, HTML and text."""
    from seller_health.reports.html import render_page
    from seller_health.store.history import load_latest

    Seller("fresh", name="Fresh").order("x", ago(days=3)).save(engine)
    Seller("stale", name="Stale").order("y", ago(days=3)).save(engine)
    pack = builtin_pack("amazon")
    save_run(engine, evaluate(engine, [pack], T - timedelta(days=2), ["stale"]))
    save_run(engine, evaluate(engine, [pack], T, ["fresh"]))
    page = report_page(engine, load_latest(engine, ["fresh", "stale"]))
    stamp = "last checked Oct 30, 2026, 12:00:00\u202fAM"
    html, text = render_page(page), render_page(page, "text")
    assert html.count(stamp) == 1 and text.count(stamp) == 1
    assert "Stale (stale, Amazon) — " + stamp in text


@pytest.mark.parametrize(
    ("statuses", "subject"),
    [
        (["insufficient_data"], "[Not enough data] 1 account, not at risk"),
        (["insufficient_data", "ok"], "[Not enough data] 2 accounts, none at risk"),
        (["ok"], "[OK] The account is healthy"),
        (["ok", "ok"], "[OK] All 2 accounts are healthy"),
        (["ok", "warn"], "[At risk] 1 account needs attention"),
        ([], "[OK] No accounts to report"),
    ],
)
def test_digest_subject_calls_healthy_only_accounts_known_to_be(engine, statuses, subject):
    from seller_health.model.results import AccountCheck, CheckResult

    accounts = [
        AccountCheck(f"a{i}", "amazon", f"Shop {i}", status, [])
        for i, status in enumerate(statuses)
    ]
    result = CheckResult(as_of=T, accounts=accounts)
    assert report_page(engine, result, kind="digest").subject == subject


def test_digest_subject_in_spanish_has_no_healthy_claim_without_data(engine):
    Seller("new", name="Brand new shop").save(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    page = report_page(engine, result, kind="digest", language="es")
    assert page.subject == "[Datos insuficientes] 1 cuenta, sin riesgo"
    assert page.accounts_line == "1 cuenta, de peor a mejor"


def test_a_shop_name_cannot_forge_lines_of_the_text_report(engine):
    from seller_health.reports.html import render_page

    name = "Nice shop\n\n[OK] Order Defect Rate: 0.00%\r\n  Everything fine\u2028\x07"
    seller = Seller("s", name=name)
    for i in range(50):
        seller.order(f"o{i}", ago(days=3), shipped_at=ago(days=2))
    seller.event("c", "chargeback", ago(days=1), order_id="o1").save(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    flat = "Nice shop [OK] Order Defect Rate: 0.00% Everything fine"
    for kind in ("account", "digest"):
        page = report_page(engine, result, kind=kind)
        assert page.accounts[0].name == flat
        text = render_page(page, "text")
        assert not any(line.startswith("[OK] Order Defect Rate") for line in text.splitlines())
        assert "\u2028" not in text and "\x07" not in text
    assert report_page(engine, result).title == f"Account health: {flat}"


def test_evidence_words_are_in_the_readers_language(engine):
    """Who cancelled, an event's state, a quarantined stream and counts are translated."""
    from sqlmodel import Session

    from seller_health.store.models import Quarantined

    seller = Seller("s", name="Tienda", locale="es", timezone="Europe/Madrid")
    for i in range(20):
        seller.order(f"o{i}", ago(days=3), shipped_at=ago(days=2))
    seller.order(
        "c1", ago(days=3), status="cancelled", cancelled_at=ago(days=2), cancelled_by="seller"
    )
    seller.event("f1", "feedback", ago(days=1), order_id="o1", rating=1, status="open")
    seller.save(engine)
    with Session(engine) as session:
        session.add(
            Quarantined(
                account_id="s", stream="orders", record_key="k", reason="bad", quarantined_at=T
            )
        )
        session.commit()
    result = evaluate(engine, [builtin_pack("amazon")], T)
    page = report_page(
        engine, result, kind="audit", language="es", timezone="Europe/Madrid", evidence_rows=None
    )
    cards = {c.rule: c for c in page.accounts[0].cards}
    (cancelled,) = cards["amazon.cancellation_rate"].evidence.rows
    assert cancelled.cells[5].endswith(" (vendedor)")
    assert cancelled.timeline[-1].endswith("Cancelación (vendedor)")
    odr_row = cards["amazon.order_defect_rate"].evidence.rows[0]
    assert odr_row.timeline[-1].endswith("· valoración 1 · abierto")
    problems = [s.problem for s in page.accounts[0].sources if s.problem]
    assert problems == ["registros ilegibles"]


def test_counts_and_unknown_dates_are_localized(engine):
    from seller_health.model.results import AccountCheck, CheckResult
    from seller_health.reports.html import render_page

    Seller("s", name="Tienda").save(engine)
    r = _result(
        evidence=["x1", "x2"],
        evidence_total=12345,
        of="orders",
        official={"value": 0.02, "target": None, "fetched_at": None},
    )
    result = CheckResult(as_of=T, accounts=[AccountCheck("s", "amazon", "Tienda", "breach", [r])])
    page = report_page(engine, result, language="es")
    (card,) = page.accounts[0].cards
    assert card.evidence.more_count == "12.343"
    assert card.evidence.more_note == "Y 12.343 registros más no mostrados."
    assert card.official == "El marketplace indica 2,00\xa0% (fecha de consulta desconocida)."
    assert "(+12.343)" in render_page(page, "text")
    assert "Y 12.343 registros más no mostrados." in render_page(page)
    digest = report_page(engine, result, kind="digest", language="es")
    assert digest.accounts_line == "1 cuenta, de peor a mejor"


def test_audit_sources_count_what_existed_before_as_of(engine):
    """An order placed at as_of exactly does not exist yet for any rule (the window is
    [T - N days, T)), so the sources table does not count it either."""
    Seller("edge").order("before", ago(days=1)).order("at_as_of", T).save(engine)
    result = evaluate(engine, [builtin_pack("amazon")], T)
    (account,) = report_page(engine, result, kind="audit", evidence_rows=None).accounts
    assert account.sources[0].records == "1"


def test_evidence_is_as_known_before_as_of(engine):
    """What happens at as_of exactly has not happened yet (metrics.md): a shipment at T is
    blank in the evidence of a check at T, and a message sent at T is no reply."""
    from seller_health.store.records import evidence_records

    seller = Seller("edge").order("o1", ago(days=2), shipped_at=T)
    seller.message("m1", "t1", ago(days=1), "in", order_id="o1", needs_reply=True)
    seller.message("m2", "t1", T, "out", order_id="o1")
    seller.save(engine)
    with engine.connect() as conn:
        orders = evidence_records(conn, "edge", "orders", ["o1"], T)
        messages = evidence_records(conn, "edge", "inbound_messages", ["m1"], T)
    assert orders["o1"]["shipped_at"] is None
    assert messages["m1"]["replied_at"] is None


def test_banner_names_the_failing_rules_and_the_first_action(engine, checked):
    page = report_page(engine, checked, rules=rules_by_id())
    (account,) = page.accounts
    assert account.failing == [
        "Past the limit: Order Defect Rate at 1.67%",
        "Past the limit: Valid Tracking Rate at 0.00%",  # the factory's orders have no tracking
    ]
    first = rules_by_id()["amazon.order_defect_rate"].actions[0]
    assert account.first_action == f"First action: {first}"
    html = render_page(page)
    banner = html[html.index('<div class="banner') : html.index("</div>", html.index("banner"))]
    assert "Past the limit: Order Defect Rate at 1.67%" in banner and first in banner
    assert "Past the limit: Order Defect Rate at 1.67%" in render_page(page, "text")
    spanish = report_page(engine, checked, language="es").accounts[0]
    assert spanish.failing[0] == "Fuera del límite: Tasa de defectos en pedidos con 1,67\xa0%"
    assert spanish.first_action.startswith("Primera acción: ")


def _odr_store(engine):
    seller = Seller("d", name="Shop")
    for i in range(50):
        seller.order(f"302-0000000-{i:07}", ago(days=20), shipped_at=ago(days=19))
    # o0: a 5-star feedback (no defect) then a 1-star one; o1: a chargeback; o2: a claim the
    # buyer withdrew (no defect) and a later A-to-z claim.
    seller.event("f5", "feedback", ago(days=10), order_id="302-0000000-0000000", rating=5)
    seller.event("f1", "feedback", ago(days=8), order_id="302-0000000-0000000", rating=1)
    seller.event("cb", "chargeback", ago(days=6), order_id="302-0000000-0000001")
    seller.event(
        "w", "a_to_z_claim", ago(days=7), order_id="302-0000000-0000002", status="withdrawn"
    )
    seller.event("az", "a_to_z_claim", ago(days=5), order_id="302-0000000-0000002")
    seller.save(engine)
    return evaluate(engine, [builtin_pack("amazon")], T)


def test_odr_evidence_says_which_defect_and_when(engine):
    """Each order of the ODR evidence names the feedback, claim or chargeback that made it a
    defect, and its date; a 5-star feedback or a withdrawn claim is not one."""
    page = report_page(engine, _odr_store(engine), evidence_rows=None)
    odr = next(c for c in page.accounts[0].cards if c.rule == "amazon.order_defect_rate")
    table = odr.evidence
    assert table.columns[:4] == ["Order", "Defect", "Defect date", "Purchased"]
    cells = {row.cells[0]: row.cells[1:3] for row in table.rows}
    assert cells == {
        "302-0000000-0000000": ["Feedback · rating 1", EN.short_datetime(ago(days=8))],
        "302-0000000-0000001": ["Chargeback", EN.short_datetime(ago(days=6))],
        "302-0000000-0000002": ["A-to-z claim", EN.short_datetime(ago(days=5))],
    }
    # The id and the defect are the proof: kept on a phone; the shipping columns fold away.
    assert dict(zip(table.columns, table.keep, strict=True)) == {
        "Order": True,
        "Defect": True,
        "Defect date": True,
        "Purchased": False,
        "Ship by": False,
        "Shipped": False,
        "Delivered": False,
        "Cancelled": False,
        "Total": False,
    }
    assert table.ids[0] and not any(table.ids[1:])


def test_late_shipment_evidence_keeps_its_proof_on_a_phone(engine):
    seller = Seller("l", name="Shop")
    for i in range(20):
        late = i < 2
        seller.order(
            f"o{i}", ago(days=6), ship_by=ago(days=4), shipped_at=ago(days=3 if late else 5)
        )
    seller.save(engine)
    page = report_page(engine, evaluate(engine, [builtin_pack("amazon")], T))
    lsr = next(c for c in page.accounts[0].cards if c.rule == "amazon.late_shipment_rate")
    kept = [c for c, keep in zip(lsr.evidence.columns, lsr.evidence.keep, strict=True) if keep]
    assert kept == ["Order", "Ship by", "Shipped"]
    assert "Defect" not in lsr.evidence.columns  # no event decides it


def test_official_figure_explains_why_it_differs(engine):
    official = {
        "value": 0.0702,
        "target": 0.01,
        "numerator": 10,
        "denominator": 142,
        "source": "GET_V2_SELLER_PERFORMANCE_REPORT",
        "window_start": "2026-08-29T00:00:00Z",
        "window_end": "2026-10-28T00:00:00Z",
        "fetched_at": "2026-10-31T06:00:00Z",
    }
    r = _result(value=Fraction(536, 10000), numerator=8, denominator=149, official=official)
    assert official_why(r, EN) == (
        "Our 5.36% is computed from the records stored here, Sep 2, 2026 to Nov 1, 2026. "
        "The Amazon account health report covers Aug 29, 2026 to Oct 28, 2026 and is published "
        "with a delay. It counts 10 of 142; the store holds 8 of 149. The marketplace also "
        "counts what the store may lack: orders, feedback and claims not synced yet or older "
        "than the first import."
    )
    unknown = _result(official={"value": 0.02, "fetched_at": None})
    assert "uses its own window" in official_why(unknown, EN)
    assert "The marketplace uses its own window" in official_why(unknown, EN)
    assert official_why(_result(official=official | {"value": 0.0125}), EN) is None  # same
    assert official_why(_result(), EN) is None
    spanish = official_why(r, Localizer("es"))
    assert spanish.startswith("Nuestro 5,36\xa0% se calcula")
    assert "El informe de salud de la cuenta de Amazon abarca" in spanish


def test_marketplace_reports_are_named_in_words(engine):
    from sqlalchemy import insert

    from seller_health.store.models import OfficialMetric, SyncBookmark

    Seller("a", name="Shop").order("o1", ago(days=3)).save(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(OfficialMetric.__table__),
            [
                {
                    "account_id": "a",
                    "rule_id": "amazon.order_defect_rate",
                    "value": 0.02,
                    "source": "GET_V2_SELLER_PERFORMANCE_REPORT",
                    "fetched_at": ago(days=1),
                }
            ],
        )
        conn.execute(
            insert(SyncBookmark.__table__),
            [
                {
                    "account_id": "a",
                    "stream": s,
                    "cursor": ago(days=1),
                    "pending": {},
                    "updated_at": ago(hours=1),
                }
                for s in ("performance_report", "feedback")
            ],
        )
    result = evaluate(engine, [builtin_pack("amazon")], T)
    page = report_page(engine, result, kind="audit")
    names = [s.name for s in page.accounts[0].sources]
    assert names[3:] == [
        "Sync of Amazon feedback report",
        "Sync of Amazon account health report",
        "Marketplace figures (Amazon account health report)",
    ]
    assert "GET_" not in render_page(page)
    spanish = report_page(engine, result, kind="audit", language="pt").accounts[0].sources
    assert "relatório de saúde da conta Amazon" in spanish[-1].name
