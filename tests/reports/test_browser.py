"""Reports in a real browser (Debian's Chromium through Playwright): untrusted text never runs,
and the three report kinds display well on a desktop and on a phone.

No network is used: pages are loaded with ``page.set_content``. Without ``/usr/bin/chromium``
(Debian package ``chromium``) the tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import Engine, insert

from seller_health.engine.evaluate import evaluate
from seller_health.engine.rules import builtin_pack, builtin_packs, load_pack_file
from seller_health.engine.wording import available_languages
from seller_health.ingest.importer import import_directory
from seller_health.model.results import CheckResult
from seller_health.reports.html import render_page, report_page, rules_by_id
from seller_health.store.db import open_store
from seller_health.store.history import save_run
from seller_health.store.models import OfficialMetric, Quarantined, SyncBookmark
from tests.factory import Seller, T, ago

pytestmark = pytest.mark.slow  # a real browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
KINDS = ("account", "digest", "audit")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module: Debian's, never a downloaded one."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install Debian's `chromium` package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        _unavailable(f"playwright is not installed: {exc}")
    manager = sync_playwright()
    try:
        playwright = manager.start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _unavailable(f"playwright could not start: {exc}")
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    except Exception as exc:  # pragma: no cover - depends on the machine
        manager.__exit__(None, None, None)
        _unavailable(f"playwright could not start {CHROMIUM}: {exc}")
    yield browser
    browser.close()
    manager.__exit__(None, None, None)


# What the detector sees in a loaded page ------------------------------------------------------

# Every element the report templates write; anything else was injected.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3", "h4", "p",
    "span", "strong", "br", "a", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
    "svg", "rect", "line", "polyline", "circle",
}  # fmt: skip

INSPECT = """(allowed) => {
  const elements = [...document.querySelectorAll('*')];
  const attributes = elements.flatMap(
    (e) => [...e.attributes].map((a) => [e.tagName.toLowerCase(), a.name, a.value]));
  return {
    pwned: typeof window.__pwned !== 'undefined',
    scripts: document.querySelectorAll('script').length,
    styles: document.querySelectorAll('style').length,
    on_attributes: attributes.filter(([, n]) => n.toLowerCase().startsWith('on'))
      .map(([t, n]) => `${t}[${n}]`),
    javascript_urls: attributes.filter(([, , v]) => /^\\s*javascript:/i.test(v))
      .map(([t, n, v]) => `${t}[${n}=${v}]`),
    foreign_tags: [...new Set(elements.map((e) => e.tagName.toLowerCase()))]
      .filter((t) => !allowed.includes(t)),
  };
}"""


@dataclass
class Loaded:
    pwned: bool
    scripts: int
    styles: int
    on_attributes: list[str]
    javascript_urls: list[str]
    foreign_tags: list[str]
    title: str
    text: str  # what a reader sees: the rendered text of <body>
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def attacked(self) -> list[str]:
        """Every sign of markup or script that came from data, empty for a safe page."""
        return [f"{name}: {value}" for name, value in self._signs() if value]

    def _signs(self) -> list[tuple[str, object]]:
        return [
            ("window.__pwned set", self.pwned),
            ("<script> elements", self.scripts),
            ("extra <style> elements", self.styles - 1),
            ("on* attributes", self.on_attributes),
            ("javascript: URLs", self.javascript_urls),
            ("elements no template writes", self.foreign_tags),
            ("dialogs", self.dialogs),
            ("requests", self.requests),
        ]


def load(browser: Any, html: str, **context_options: Any) -> Loaded:
    """``html`` in a fresh JavaScript-enabled context with CSP bypassed, inspected after load."""
    context = browser.new_context(bypass_csp=True, java_script_enabled=True, **context_options)
    try:
        page = context.new_page()
        dialogs: list[str] = []
        console: list[str] = []
        requests: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        page.wait_for_timeout(50)  # let any late error/load handler run
        found = page.evaluate(INSPECT, sorted(TEMPLATE_TAGS))
        return Loaded(
            **found,
            title=page.title(),
            text=page.inner_text("body"),
            dialogs=dialogs,
            console=console,
            requests=requests,
        )
    finally:
        context.close()


# A store where every untrusted text carries a payload ---------------------------------------

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
SVG = "<svg onload=window.__pwned=1>"
JS_URL = "javascript:window.__pwned=1//"
ANCHOR = '<a href="javascript:window.__pwned=1">click</a>'
TEMPLATE = "tpl{{7*7}}"  # Jinja evaluation would show tpl49
FORMAT = "fmt{0}{name}{__class__}"  # str.format would fail or substitute
STYLE = "</style><script>window.__pwned=1</script>"
TITLE = "</title><script>window.__pwned=1</script>"
ALERT = "<img src=x onerror=alert(1)>"
QUOTE = "' onmouseover='window.__pwned=1' x='"
ENTITY = "&lt;b&gt;&amp;"  # must stay literal: neither unescaped nor dropped
PAYLOADS = [SCRIPT, IMG, SVG, JS_URL, ANCHOR, TEMPLATE, FORMAT, STYLE, TITLE, ALERT, QUOTE, ENTITY]
EVALUATED = "tpl49"  # what an evaluated TEMPLATE would print

ACCOUNTS = {
    # account_id: (marketplace, name)
    SCRIPT: ("amazon", f"{IMG} {TEMPLATE} {TITLE}"),
    SVG: (ALERT, f"{STYLE} {JS_URL} {FORMAT} {ENTITY}"),
    ANCHOR: ("ebay", None),  # no name: the id is shown
}


@dataclass
class Shown:
    """Untrusted strings a page kind must show as text."""

    everywhere: set[str] = field(default_factory=set)  # account, digest and audit
    cards: set[str] = field(default_factory=set)  # pages with rule cards and evidence
    audit: set[str] = field(default_factory=set)


def _records(seller: Seller, shown: Shown) -> None:
    """One order, buyer, event, conversation and message per payload: all of them evidence."""
    for i, p in enumerate(PAYLOADS):
        order_id, buyer_id = f"{p}o{i}", f"{p}b{i}"
        cancelled = i % 3 == 2
        seller.order(
            order_id,
            ago(days=10 + i),
            ship_by=ago(days=8 + i),
            shipped_at=None if cancelled else ago(days=6 + i),  # late
            delivered_at=None if cancelled else ago(days=4 + i),
            cancelled_at=ago(days=9 + i) if cancelled else None,
            cancelled_by=f"{p}c{i}" if cancelled else None,
            tracking_id=f"{p}tr{i}",
            buyer_id=buyer_id,
            total="12.50",
            currency=f"{p}$" if i == 0 else None,  # the others: currency-less totals
        )
        seller.event(
            f"{p}e{i}",
            ["a_to_z_claim", "chargeback", "feedback", f"{p}k{i}"][i % 4],
            ago(days=3 + i / 10),
            order_id=order_id,
            rating=1 if i % 4 == 2 else None,
            status=f"{p}s{i}",
        )
        seller.message(f"{p}m{i}", f"{p}t{i}", ago(days=5 + i), "in", needs_reply=True)
        seller.message(
            f"{p}r{i}", f"{p}t{i}", ago(days=4 + i), "out", agent=f"{p}a{i}", order_id=order_id
        )
        shown.cards |= {order_id, buyer_id, f"{p}e{i}", f"{p}s{i}", f"{p}m{i}", f"{p}t{i}"}
        shown.cards |= {f"{p}r{i}"}
        if cancelled:
            shown.cards.add(f"{p}c{i}")  # in the evidence, and in the audit's timeline
        if i % 4 == 3:
            shown.cards.add(f"{p}k{i}")
    shown.cards.add(f"{SCRIPT}$")


def _pack_file(directory: Path, shown: Shown) -> Path:
    """A user rule pack whose every text field carries payloads, one rule per record set."""
    specs = [
        ("orders", "purchased_at", {"present": "buyer_id"}),
        ("events", "occurred_at", {"present": "status"}),
        ("inbound_messages", "sent_at", {"needs_reply": True}),
        ("outbound_messages", "sent_at", {"present": "agent"}),
        ("threads", "first_message_at", {"not": {"happened": "resolved_at"}}),
        ("buyers", "last_purchased_at", {"compare": "orders_365d >= 1"}),
    ]
    rules = []
    for i, (of, by, bad) in enumerate(specs):
        p = PAYLOADS[i % len(PAYLOADS)]
        q = PAYLOADS[(i + 6) % len(PAYLOADS)]
        texts = {
            "title": f"{p} rule title {i}",
            "description": f"{q} rule description {i}",
            "items": f"{SVG}items{i}",
            "message": f"{SCRIPT} {{numerator}} of {{denominator}} {{items}} {TEMPLATE} msg{i}",
            "actions": [f"{a} action {i}.{j}" for j, a in enumerate([IMG, TITLE, QUOTE])],
        }
        rules.append(
            {
                "id": f"evil.{of}",
                **texts,
                "of": of,
                "metric": "rate",
                "window": {"days": 120, "by": by},
                "bad": bad,
                "warn": ">= 0.1",
                "breach": ">= 0.5",
            }
        )
        shown.everywhere.add(texts["title"])
        shown.cards |= {texts["description"], *texts["actions"]}
        shown.cards.add(f"{SCRIPT} 12 of 12 {SVG}items{i} {TEMPLATE} msg{i}")
    path = directory / "evil.yaml"
    path.write_text(
        yaml.safe_dump({"pack": "evil", "title": f"{SCRIPT} pack", "rules": rules}),
        encoding="utf-8",
    )
    return path


def _marketplace_data(engine: Engine, account_id: str, shown: Shown) -> None:
    """Sync bookmarks, quarantined records and official figures: named by the marketplace."""
    stream, finding = f"{IMG}stream", f"{SCRIPT}finding"
    with engine.begin() as conn:
        conn.execute(
            insert(SyncBookmark.__table__),
            [
                {
                    "account_id": account_id,
                    "stream": stream,
                    "cursor": ago(days=1),
                    "pending": {"finding": finding},
                    "updated_at": ago(hours=1),
                }
            ],
        )
        conn.execute(
            insert(Quarantined.__table__),
            [
                {
                    "account_id": account_id,
                    "stream": f"{SVG}quarantine",
                    "record_key": SCRIPT,
                    "reason": ALERT,
                    "raw": {"x": SCRIPT},
                    "quarantined_at": ago(days=1),
                }
            ],
        )
        conn.execute(
            insert(OfficialMetric.__table__),
            [
                {
                    "account_id": account_id,
                    "rule_id": "amazon.order_defect_rate",
                    "value": 0.02,
                    "target": 0.01,
                    "status": ALERT,
                    "source": f"{ANCHOR}source",
                    "fetched_at": ago(days=1),
                }
            ],
        )
    shown.everywhere |= {stream, finding, f"{SVG}quarantine"}
    shown.audit |= {f"{ANCHOR}source"}


@dataclass
class Hostile:
    engine: Engine
    result: CheckResult
    rules: dict[str, Any]
    shown: Shown


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    engine = open_store("sqlite://")
    shown = Shown()
    for account_id, (marketplace, name) in ACCOUNTS.items():
        seller = Seller(account_id, marketplace, name=name)
        _records(seller, shown)
        seller.save(engine)
        shown.everywhere |= {account_id, name or account_id}
    shown.everywhere.add(ALERT)  # an unknown marketplace is shown as stored
    _marketplace_data(engine, SCRIPT, shown)
    packs = [
        builtin_pack("amazon"),
        load_pack_file(_pack_file(tmp_path_factory.mktemp("p"), shown)),
    ]
    save_run(engine, evaluate(engine, packs, T - timedelta(days=7)))
    result = evaluate(engine, packs, T)
    save_run(engine, result)
    yield Hostile(engine, result, rules_by_id(packs), shown)
    engine.dispose()


def _hostile_html(hostile: Hostile, kind: str, language: str = "en") -> str:
    page = report_page(
        hostile.engine,
        hostile.result,
        kind=kind,
        language=language,
        rules=hostile.rules,
        evidence_rows=None,
    )
    return render_page(page, "html")


def test_the_hostile_store_puts_payloads_in_evidence_trends_and_changes(hostile):
    """Guards the XSS tests below against passing because the payloads never reach a page."""
    html = _hostile_html(hostile, "account")
    for account in hostile.result.accounts:
        failing = {r.rule for r in account.results if r.status in ("warn", "breach")}
        assert {f"evil.{of}" for of in ("orders", "events", "threads", "buyers")} <= failing
    assert "<svg xmlns" in html  # trends drawn from the two saved runs
    assert "Changed since the previous check" in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


@pytest.mark.parametrize("language", available_languages())
@pytest.mark.parametrize("kind", KINDS)
def test_untrusted_text_is_shown_as_text_and_never_runs(browser, hostile, kind, language):
    loaded = load(browser, _hostile_html(hostile, kind, language))
    assert loaded.attacked == []
    assert not [line for line in loaded.console if "pwned" in line or "error" in line]
    expected = hostile.shown.everywhere | (hostile.shown.cards if kind != "digest" else set())
    if kind == "audit":
        expected |= hostile.shown.audit
    missing = sorted(text for text in expected if text not in loaded.text)
    assert missing == [], "escaped text must be shown, not dropped"
    assert EVALUATED not in loaded.text and EVALUATED not in loaded.title
    assert SCRIPT in loaded.text and TEMPLATE in loaded.text and ENTITY in loaded.text
    if kind != "digest":  # the title names the first account
        first = hostile.result.accounts[0]
        assert (first.name or first.account_id) in loaded.title


def test_the_detector_catches_unescaped_markup(browser):
    """Controls: the same checks flag a page that lets the payloads through."""
    snippet = f"<!doctype html><html><head><style></style></head><body><p>{IMG}</p></body></html>"
    loaded = load(browser, snippet)
    assert loaded.pwned and loaded.on_attributes == ["img[onerror]"]
    assert "img" in loaded.foreign_tags and loaded.attacked
    snippet = f"<!doctype html><html><body><p>{SCRIPT}{ALERT}{ANCHOR}</p></body></html>"
    loaded = load(browser, snippet)
    assert loaded.pwned and loaded.scripts == 1 and loaded.dialogs == ["alert: 1"]
    assert loaded.javascript_urls == ["a[href=javascript:window.__pwned=1]"]
    assert "<script>" not in loaded.text


def test_the_detector_catches_the_real_report_rendered_without_escaping(browser, hostile):
    """The hostile report through the same templates with autoescape off is caught."""
    unsafe = Environment(
        loader=PackageLoader("seller_health.builtin_templates", ""),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    page = report_page(hostile.engine, hostile.result, rules=hostile.rules, evidence_rows=None)
    html = unsafe.get_template("account.html").render(page=page, _=page.t.gettext)
    loaded = load(browser, html)
    assert loaded.pwned and loaded.scripts and loaded.on_attributes and loaded.dialogs
    assert SCRIPT not in loaded.text


# Display on a desktop and a phone ------------------------------------------------------------

VIEWPORTS = {
    "1280": {"viewport": {"width": 1280, "height": 900}},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
MIN_FONT_PX = 11.5  # the smallest text the templates mean to use is 12px

LAYOUT = """([minFont, width]) => {
  const rect = (e) => e.getBoundingClientRect();
  const box = (e) => { const r = rect(e);
    return {x: r.x, y: r.y, width: r.width, height: r.height, right: r.right}; };
  const visible = (e) => { const s = getComputedStyle(e); const r = rect(e);
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const describe = (e) => { const c = e.getAttribute('class');
    return e.tagName.toLowerCase() + (c ? '.' + c.trim().split(/\\s+/).join('.') : '')
      + ` (right ${Math.round(rect(e).right)}, content ${e.scrollWidth}px in ${e.clientWidth}px)`
      + `: ${e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60)}`; };
  const elements = [...document.querySelectorAll('body *')].filter(visible);
  // At fault: the outermost boxes reaching past the screen, and the innermost boxes whose own
  // content does not fit them (a long unbreakable word).
  const past = elements.filter((e) => rect(e).right > width + 1);
  const tight = elements.filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1
    && getComputedStyle(e).overflowX === 'visible');
  const culprits = [
    ...past.filter((e) => !past.some((o) => o !== e && o.contains(e))),
    ...tight.filter((e) => !tight.some((o) => o !== e && e.contains(o))),
  ];
  const small = elements.filter((e) =>
    [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
    && parseFloat(getComputedStyle(e).fontSize) < minFont);
  // Words split across two lines (ids in .mono may break anywhere, by design).
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('.mono, svg') || !visible(parent)) continue;
    for (const word of node.textContent.matchAll(/[^\\s\\-\\u2013\\u2014\\/]+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0)
        .map((r) => Math.round(r.top)));
      if (lines.size > 1) split.push(`${parent.tagName.toLowerCase()}: ${word[0]}`);
    }
  }
  const banner = document.querySelector('.banner');
  return {
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
    overflowing: culprits.slice(0, 8).map(describe),
    banner: banner && visible(banner) ? box(banner) : null,
    banner_text: banner ? banner.innerText : '',
    svgs: [...document.querySelectorAll('svg')].map(box),
    small_text: small.slice(0, 8).map((e) => `${getComputedStyle(e).fontSize} ${describe(e)}`),
    body_font: parseFloat(getComputedStyle(document.body).fontSize),
    split_words: [...new Set(split)].slice(0, 8),
  };
}"""


def layout(browser: Any, html: str, width: str, screenshot: Path | None = None) -> dict[str, Any]:
    """Geometry of ``html`` at one of the VIEWPORTS, optionally saved as a full-page PNG."""
    context = browser.new_context(**VIEWPORTS[width])
    try:
        page = context.new_page()
        page.set_content(html, wait_until="load")
        found = page.evaluate(LAYOUT, [MIN_FONT_PX, int(width)])
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            print(f"screenshot: {screenshot}")
        return found
    finally:
        context.close()


def assert_fits(found: dict[str, Any], width: str) -> None:
    """Nothing wider than the screen. A phone browser widens its layout viewport to fit what
    overflows (``innerWidth`` then grows with it), so the screen's own width is the measure."""
    assert found["scroll_width"] <= int(width) + 1, (
        f"horizontal overflow ({found['scroll_width']}px on a {width}px screen), "
        f"at fault: {found['overflowing']}"
    )
    assert found["inner_width"] == int(width), "the page was zoomed out to fit"


@pytest.fixture(scope="module")
def example() -> Iterator[tuple[Engine, CheckResult]]:
    """The example data, checked weekly so that trends have points."""
    engine = open_store("sqlite://")
    import_directory(engine, ROOT / "examples" / "data")
    packs = builtin_packs()
    result = None
    for day in (18, 25, 32):  # 2026-10-18, 2026-10-25, 2026-11-01, at noon
        result = evaluate(engine, packs, datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(day - 1))
        save_run(engine, result)
    assert result is not None
    yield engine, result
    engine.dispose()


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("kind", KINDS)
def test_reports_display_well_on_desktop_and_phone(browser, example, kind, width):
    engine, result = example
    if kind == "audit":  # an audit pack is of one account: the one with most to audit
        worst = max(result.accounts, key=lambda a: sum(r.status != "ok" for r in a.results))
        result = replace(result, accounts=[worst])
    html = render_page(report_page(engine, result, kind=kind), "html")
    found = layout(browser, html, width, SCREENSHOTS / f"{kind}-{width}.png")
    assert_fits(found, width)
    banner = found["banner"]
    assert banner is not None, "the status banner is not visible"
    assert banner["x"] >= 0 and banner["right"] <= int(width) + 1
    assert banner["y"] < 900 and found["banner_text"].strip(), "the banner is not on first screen"
    if kind != "digest":
        assert found["svgs"], "the example runs should draw trends"
    for box in found["svgs"]:
        assert box["width"] > 0 and box["height"] > 0, f"trend with an empty box: {box}"
        assert box["right"] <= int(width) + 1, f"trend out of the window: {box}"
    assert found["body_font"] >= 14
    assert found["small_text"] == [], "text smaller than 12px"
    assert found["split_words"] == [], "words broken across lines"


@pytest.mark.parametrize("kind", KINDS)
def test_long_untrusted_text_does_not_widen_the_page_on_a_phone(browser, hostile, kind):
    """Names, ids and rule texts are as long as their senders make them: they wrap."""
    found = layout(browser, _hostile_html(hostile, kind), "390")
    assert_fits(found, "390")


# The proof of each failure, legible on a desktop and a phone ---------------------------------

PROOF = """() => {
  const visible = (e) => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const textBoxes = (e) => { const range = document.createRange(); range.selectNodeContents(e);
    return [...range.getClientRects()].filter((r) => r.width > 0); };
  const lines = (e) => new Set(textBoxes(e).map((r) => Math.round(r.top))).size;
  const ids = [...document.querySelectorAll('.id')].filter(visible)
    .map((e) => [e.textContent.trim(), lines(e)]);
  const columns = {};
  for (const card of document.querySelectorAll('.card')) {
    const table = card.querySelector('table.evidence');
    if (table) columns[card.id] = [...table.querySelectorAll('th')].filter(visible)
      .map((e) => e.textContent.trim());
  }
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom
    && b.top < a.bottom;
  const gauges = [...document.querySelectorAll('.gauge')].filter(visible).map((g) => {
    const outer = g.getBoundingClientRect();
    const labels = [...g.querySelectorAll('td.tick, table.scale td')].filter(visible)
      .flatMap((e) => textBoxes(e).map((r) => ({text: e.textContent.trim(), r})));
    const clashes = [];
    labels.forEach((a, i) => labels.slice(i + 1).forEach((b) => {
      if (overlap(a.r, b.r)) clashes.push(`${a.text} / ${b.text}`); }));
    const outside = labels.filter(({r}) => r.left < outer.left - 1 || r.right > outer.right + 1)
      .map(({text}) => text);
    return {id: g.closest('.card').id, labels: labels.map(({text}) => text), clashes, outside};
  });
  const banner = document.querySelector('.banner');
  return {ids, columns, gauges, banner: banner ? banner.innerText : ''};
}"""


@pytest.fixture(scope="module")
def proofs() -> Iterator[tuple[Engine, CheckResult]]:
    """An Amazon shop failing for visible reasons: 10 late shipments in 200 (5%, breach),
    191 valid tracking numbers (95.5%, at risk), 3 chargebacks (1.5%, breach), and Amazon's
    own ODR over its own window."""
    engine = open_store("sqlite://")
    seller = Seller("acme-de", name="ACME Werkzeug GmbH")
    for i in range(200):
        order_id = f"302-{2806765 + i:07}-{6298108 - i:07}"
        seller.order(
            order_id,
            ago(days=6 + i % 20),
            ship_by=ago(days=4 + i % 20),
            shipped_at=ago(days=3 + i % 20 if i < 10 else 5 + i % 20),
            deliver_by=ago(days=i % 20),
            delivered_at=ago(days=1 + i % 20),
            tracking_id=f"JJD{i:012}",
            tracking_valid=i >= 9,
            total="29.74",
            currency="EUR",
        )
        if i in (20, 40, 60):
            seller.event(f"cb{i}", "chargeback", ago(days=2 + i / 20), order_id=order_id)
    seller.save(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(OfficialMetric.__table__),
            [
                {
                    "account_id": "acme-de",
                    "rule_id": "amazon.order_defect_rate",
                    "value": 0.0702,
                    "target": 0.01,
                    "numerator": 10,
                    "denominator": 142,
                    "window_start": ago(days=64),
                    "window_end": ago(days=4),
                    "source": "GET_V2_SELLER_PERFORMANCE_REPORT",
                    "fetched_at": ago(days=1),
                }
            ],
        )
    result = evaluate(engine, [builtin_pack("amazon")], T)
    statuses = {r.rule: r.status for r in result.accounts[0].results}
    assert statuses["amazon.late_shipment_rate"] == "breach"
    assert statuses["amazon.valid_tracking_rate"] == "warn"
    assert statuses["amazon.order_defect_rate"] == "breach"
    yield engine, result
    engine.dispose()


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("kind", ["account", "audit"])
def test_the_proof_of_each_failure_reads_on_desktop_and_phone(browser, proofs, kind, width):
    engine, result = proofs
    html = render_page(report_page(engine, result, kind=kind, evidence_rows=5), "html")
    context = browser.new_context(**VIEWPORTS[width])
    try:
        page = context.new_page()
        page.set_content(html, wait_until="load")
        found = page.evaluate(PROOF)
        shot = SCREENSHOTS / f"proof-{kind}-{width}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    assert_fits(layout(browser, html, width), width)
    # The banner names what fails and what to do first.
    assert "Past the limit: Late Shipment Rate (30 days) at 5.00%" in found["banner"]
    assert "Close to the limit: Valid Tracking Rate at 95.50%" in found["banner"]
    assert "First action: " in found["banner"]
    # Ids (order ids, the account id, rule ids) each on one line.
    assert len(found["ids"]) > 10
    assert [text for text, lines in found["ids"] if lines != 1] == []
    # The proof columns are on screen, phone included.
    columns = found["columns"]
    assert {"Ship by", "Shipped"} <= set(columns["rule-amazon.late_shipment_rate"])
    assert {"Defect", "Defect date"} <= set(columns["rule-amazon.order_defect_rate"])
    assert "Tracking" in columns["rule-amazon.valid_tracking_rate"]
    if width == "390":
        assert "Purchased" not in columns["rule-amazon.late_shipment_rate"]
    # Threshold labels (95% and 96% included) and the scale's ends never overlap.
    gauges = {g["id"]: g for g in found["gauges"]}
    assert gauges["rule-amazon.valid_tracking_rate"]["labels"] == [
        "95.00%",
        "96.00%",
        "90.00%",
        "100.00%",
    ]
    assert [
        (g["id"], g["clashes"], g["outside"])
        for g in found["gauges"]
        if g["clashes"] or g["outside"]
    ] == []
