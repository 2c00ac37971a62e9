"""A real browser: Chromium (Debian's, driven by Playwright) against the app running as its own
server process, with the app's own Content-Security-Policy in force.

A client in Tokyo books a therapist in New York and sees Tokyo times; a couple answers their
intakes; the therapist finds them first in the queue and prints their worksheet packet; two
clients race for one slot; a client books with the keyboard alone. axe-core checks every
client-facing page on the way for serious or critical accessibility problems.

Runs on SQLite, and on PostgreSQL when one is reachable (see conftest). Needs /usr/bin/chromium
and tests/browser/node_modules/axe-core (scripts/test installs both)."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time as clock
from datetime import UTC, datetime, time
from email import message_from_bytes
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import BACKENDS, DATA_KEY, PASSWORD, _truncate_postgres, add_therapist
from helpers import body_of
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfReader
from sqlalchemy import select
from test_intake_flow import persona

from practice import create_app, timefmt
from practice.booking.models import Consultation
from practice.db import get_session

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
THERAPIST_ZONE = "America/New_York"
CLIENT_ZONE = "Asia/Tokyo"
ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]
WAIT_MS = 15_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """The running server, its database (through an app of our own) and its mail folder."""

    def __init__(self, base: str, app, mail_dir: Path, log: Path) -> None:  # noqa: ANN001
        self.base = base
        self.app = app
        self.mail_dir = mail_dir
        self.log = log

    def url(self, path: str) -> str:
        return self.base + path

    def therapist(self, name: str) -> tuple[str, str]:
        """A therapist in New York open every day, all day, with no notice needed: there are
        always real future slots, whatever the real clock says. Returns (slug, email)."""
        email = f"{name.split()[0].lower()}@example.org"
        _, slug = add_therapist(
            self.app, name=name, email=email, timezone=THERAPIST_ZONE, hours=ALL_DAY
        )
        return slug, email

    def consultations(self, slug: str) -> list[Consultation]:
        with self.app.app_context():
            session = get_session()
            rows = session.scalars(select(Consultation).order_by(Consultation.id)).all()
            found = [c for c in rows if c.therapist.slug == slug]
            session.expunge_all()
            return found

    def mail_to(self, address: str, containing: str) -> str:
        """The text of the email to `address` containing `containing`, waiting for it to arrive."""
        deadline = clock.monotonic() + 15
        while True:
            for path in sorted(self.mail_dir.glob("*.eml")):
                message = message_from_bytes(path.read_bytes())
                if message["To"] == address and containing in body_of(message):
                    return body_of(message)
            assert clock.monotonic() < deadline, f"no email to {address} with {containing!r}"
            clock.sleep(0.1)


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory, sqlite_template):  # noqa: ANN001, ANN201
    """`python -m practice run` on a free port, on each database, with mail written as .eml
    files. One server for the module: each test makes its own therapist."""
    root = tmp_path_factory.mktemp("browser")
    if request.param == "sqlite":
        database = root / "practice.sqlite3"
        database.write_bytes(Path(sqlite_template).read_bytes())
        database_url = f"sqlite:///{database}"
    else:
        database_url = request.getfixturevalue("postgres_url")
        _truncate_postgres(database_url)
    mail_dir = root / "mail"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PRACTICE_DATABASE_URL": database_url,
        "PRACTICE_INSTANCE_PATH": str(root / "instance"),
        "PRACTICE_DATA_KEYS": DATA_KEY,
        "PRACTICE_MAIL_DIR": str(mail_dir),
        "PRACTICE_MAIL_SEND_AFTER_COMMIT": "true",
        "PRACTICE_BASE_URL": base,
        "PRACTICE_RATELIMIT_ENABLED": "false",
    }
    log = root / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "practice", "run", "--port", str(port)]
            + ["--with-threads", "--no-reload"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    app = create_app(
        {
            "SECRET_KEY": "browser-tests-setup",
            "PRACTICE_DATA_KEYS": [DATA_KEY],
            "PRACTICE_DATABASE_URL": database_url,
            "PRACTICE_MAIL_DIR": str(mail_dir),
        }
    )
    try:
        deadline = clock.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/privacy", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, log.read_text()[-3000:]
            assert clock.monotonic() < deadline, "server did not start"
            clock.sleep(0.1)
        yield Site(base, app, mail_dir, log)
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.extensions["practice"].engine.dispose()
    output = log.read_text()
    assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} missing: apt-get install chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Visitor:
    """One person's browser (a context of their own), in their own time zone."""

    def __init__(self, browser: Browser, zone: str) -> None:
        self.context = browser.new_context(timezone_id=zone, locale="en-US")
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:  # noqa: ANN001
        # The app's own CSP is in force: a blocked script or style is reported here. (A page
        # answered 409 or 422 on purpose is also logged, as a failed load: not a problem.)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:  # noqa: ANN001
        if response.request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def close(self) -> None:
        self.context.close()
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def visitors(browser):  # noqa: ANN001, ANN201
    made: list[Visitor] = []

    def make(zone: str = CLIENT_ZONE) -> Visitor:
        made.append(Visitor(browser, zone))
        return made[-1]

    yield make
    for visitor in made:
        visitor.close()


# --- accessibility --------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so the
    context keeps the app's real policy for everything else."""
    assert AXE.exists(), f"{AXE} missing: (cd tests/browser && npm ci)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations;
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Page, what: str) -> None:
    bad = axe_violations(page)
    report = []
    for v in bad:
        report.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            report.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
    assert not bad, f"axe on {what} ({page.url}):\n" + "\n".join(report)


# --- steps a client takes -------------------------------------------------------------------


def open_slots(visitor: Visitor, site: Site, slug: str) -> Page:
    """The therapist's page. On a first visit practice.js notices the browser's zone, adopts it
    and reloads; later visits remember it."""
    page = visitor.page
    page.goto(site.url(f"/therapists/{slug}"))
    expect(page.locator("form.zone-picker")).not_to_have_attribute("data-zone-source", "default")
    page.wait_for_load_state()
    return page


def slot_link(page: Page, day_index: int = 1, n: int = 2):  # noqa: ANN201
    """A slot on the second day shown (tomorrow, locally): never about to slip into the past."""
    day = page.locator("section.day").nth(day_index)
    return day.locator("a.slot").nth(n)


def start_of(href: str) -> datetime:
    start = parse_qs(urlsplit(href).query)["start"][0]
    return datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)


def fill_booking(page: Page, name: str, email: str, **couple: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    if couple:
        page.get_by_label("My partner and me").check()
        page.get_by_label("Your partner's name").fill(couple["partner_name"])
        page.get_by_label("Your partner's email (optional)").fill(couple["partner_email"])
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_label("I understand this is not an emergency service.").check()


def answer_intake(page: Page, answers: dict[str, str]) -> None:
    """Answer every question as a person would: click the radio, type in the box."""
    for item_id, value in answers.items():
        fields = page.locator(f'[name="{item_id}"]')
        if fields.first.get_attribute("type") == "radio":
            page.locator(f'input[name="{item_id}"][value="{value}"]').check()
        else:
            fields.fill(value)
    page.get_by_role("button", name="Send my answers").click()
    expect(page).to_have_title(re.compile(r"^Thank you ·"))


def focus_is_visible(page: Page) -> bool:
    return page.evaluate(
        """() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return el.matches(':focus-visible') && style.outlineStyle !== 'none'
                && parseFloat(style.outlineWidth) >= 2;
        }"""
    )


# --- the journeys ---------------------------------------------------------------------------


def test_a_couple_in_tokyo_books_answers_and_their_therapist_prints_their_packet(site, visitors):
    slug, therapist_email = site.therapist("Ruth Adler")
    client = visitors(CLIENT_ZONE)
    page = client.page

    # An individual client booked earlier, intake unanswered: the queue must rank the couple
    # above them, though their consultation is later.
    page = open_slots(client, site, slug)
    slot_link(page, n=0).click()
    page.wait_for_url(re.compile(r"/book/"))
    fill_booking(page, "Alex Early", "alex@example.com")
    page.get_by_role("button", name="Book my free consultation").click()
    page.wait_for_url(re.compile(r"/consultations/"))

    # The therapists list and the slot page, in the client's own zone.
    page.goto(site.url("/"))
    assert page.get_by_role("link", name=re.compile("Ruth Adler")).count() >= 1
    assert_accessible(page, "the therapists list")
    page = open_slots(client, site, slug)
    assert page.locator("select[name=tz]").input_value() == CLIENT_ZONE
    assert "Times are shown in" in page.inner_text("form.zone-picker")
    assert "Tokyo" in page.locator("select[name=tz] option:checked").inner_text()
    link = slot_link(page, n=4)
    start = start_of(link.get_attribute("href"))
    tokyo_time = timefmt.clock(start, CLIENT_ZONE)
    assert tokyo_time.endswith("JST")
    assert link.inner_text().strip() == tokyo_time
    day_heading = link.locator("xpath=ancestor::section[1]//h2").inner_text()
    local_day = timefmt.in_zone(start, CLIENT_ZONE)
    assert day_heading.split()[0] == f"{local_day:%A}" and str(local_day.day) in day_heading
    assert_accessible(page, "the slot page")

    # The booking form: Tokyo time, and the therapist's own time beside it.
    link.click()
    page.wait_for_url(re.compile(r"/book/"))
    summary = page.inner_text(".summary")
    assert f"{timefmt.day(start, CLIENT_ZONE)} at {tokyo_time}" in summary
    assert "Asia/Tokyo" in summary
    assert timefmt.clock(start, THERAPIST_ZONE) in summary
    assert_accessible(page, "the booking form")

    # A slip first: the form says what is wrong, keeps what was typed, and stays accessible.
    page.get_by_label("Your name").fill("Jordan Lee")
    page.get_by_label("Email", exact=True).fill("not an email")
    page.get_by_role("button", name="Book my free consultation").click()
    expect(page.locator("main")).to_contain_text("Please check the highlighted details")
    assert "doesn't look like an email address" in page.inner_text("main")
    assert page.get_by_label("Your name").input_value() == "Jordan Lee"
    assert page.evaluate("() => document.activeElement.matches('[data-focus-on-load]')")
    assert_accessible(page, "the booking form with errors")

    fill_booking(
        page,
        "Jordan Lee",
        "jordan@example.com",
        partner_name="Sam Rivera",
        partner_email="sam@example.com",
    )
    page.get_by_role("button", name="Book my free consultation").click()
    page.wait_for_url(re.compile(r"/consultations/"))
    main = page.inner_text("main")
    assert "You're booked in" in main
    assert f"{timefmt.day(start, CLIENT_ZONE)} at {tokyo_time} (Asia/Tokyo)" in main
    assert f"{timefmt.clock(start, THERAPIST_ZONE)} for Ruth Adler" in main
    assert_accessible(page, "the confirmation page")
    booked = site.consultations(slug)
    assert [c.client_name for c in booked] == ["Alex Early", "Jordan Lee"]
    assert booked[1].starts_at.replace(tzinfo=UTC) == start
    assert booked[1].client_timezone == CLIENT_ZONE

    # The client answers from the confirmation page: codependent.
    page.get_by_role("link", name="Answer my questions").click()
    page.wait_for_url(re.compile(r"/intake/"))
    assert "Before your consultation, Jordan Lee" in page.inner_text("h1")
    assert_accessible(page, "the intake form")
    answer_intake(page, persona(site.app, codependent=5, hyper=1))
    assert "Thank you, Jordan Lee." in page.inner_text("main")
    assert_accessible(page, "the intake thanks page")

    # The partner answers from their own email, in their own browser: hyper-independent.
    partner = visitors("Europe/London")
    body = site.mail_to("sam@example.com", "/intake/")
    partner_link = re.search(r"https?://\S+/intake/\S+", body).group(0)
    partner.page.goto(partner_link)
    assert "Before your consultation, Sam Rivera" in partner.page.inner_text("h1")
    # Answers save as they change: pick one, type another, close the page, come back.
    sam = persona(site.app, codependent=1, hyper=5)
    first_item = next(k for k, v in sam.items() if v.isdigit())
    partner.page.locator(f'input[name="{first_item}"][value="{sam[first_item]}"]').check()
    expect(partner.page.locator("[data-autosave-status]")).to_have_text("Saved.")
    # Typing is saved once it pauses for a moment.
    with partner.page.expect_response(re.compile(r"/autosave$")) as saved:
        partner.page.locator('[name="what_brings_you"]').fill("Distance between us.")
    assert saved.value.ok
    partner.page.goto(partner_link)
    assert partner.page.locator(
        f'input[name="{first_item}"][value="{sam[first_item]}"]'
    ).is_checked()
    assert "Distance between us." in partner.page.locator('[name="what_brings_you"]').input_value()
    answer_intake(partner.page, sam)
    assert "Thank you, Sam Rivera." in partner.page.inner_text("main")

    # The therapist signs in; the couple leads the queue, ahead of the earlier consultation.
    staff = visitors(THERAPIST_ZONE)
    page = staff.page
    page.goto(site.url("/staff/login"))
    assert_accessible(page, "the staff sign-in page")
    page.get_by_label("Email").fill(therapist_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Intakes").click()
    page.wait_for_url(re.compile(r"/staff/intakes"))
    rows = page.locator("table.queue tbody tr")
    people = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert len(people) == 3, people
    assert {people[0].split("\n")[0], people[1].split("\n")[0]} == {"Jordan Lee", "Sam Rivera"}
    assert people[2].startswith("Alex Early")
    assert "Not yet answered" in rows.nth(2).inner_text()
    assert "Not yet answered" not in rows.nth(0).inner_text()

    rows.nth(0).get_by_role("link", name="couple view").click()
    page.wait_for_url(re.compile(r"/staff/couples/"))
    assert page.get_by_role("heading", name="Possible pursue–withdraw cycle").is_visible()
    assert "Jordan Lee and Sam Rivera" in page.inner_text("h1")

    # The packet: from their booking, the suggested worksheets, with a cover page.
    page.get_by_role("link", name="Worksheets").click()
    page.wait_for_url(re.compile(r"/staff/worksheets"))
    picker = page.get_by_label("Start from a booking")
    picker.select_option(
        picker.locator("option", has_text="Jordan Lee & Sam Rivera").get_attribute("value")
    )
    page.get_by_role("button", name="Use this booking").click()
    expect(page.get_by_label("First partner's name")).to_have_value("Jordan Lee")
    expect(page.get_by_label("Second partner's name")).to_have_value("Sam Rivera")
    suggested = page.locator("li.card", has=page.locator(".status", has_text="Suggested"))
    assert suggested.count() >= 1
    for i in range(suggested.count()):
        suggested.nth(i).locator("input[type=checkbox]").check()
    page.get_by_label("Make a packet").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Jordan Lee" in text and "Sam Rivera" in text
    assert len(pdf.pages) >= 3  # a cover, contents and at least one worksheet


def test_two_clients_racing_for_one_slot_one_books_the_other_is_told_kindly(site, visitors):
    slug, _ = site.therapist("Noor Haddad")
    first, second = visitors(CLIENT_ZONE), visitors(CLIENT_ZONE)
    page = open_slots(first, site, slug)
    href = slot_link(page, n=3).get_attribute("href")
    start = start_of(href)
    for visitor, name in ((first, "Robin First"), (second, "Casey Second")):
        visitor.page.goto(href if href.startswith("http") else site.url(href))
        fill_booking(visitor.page, name, f"{name.split()[0].lower()}@example.com")

    # Both forms were filled while the slot was free; both are sent before either answers.
    for visitor in (first, second):
        visitor.page.get_by_role("button", name="Book my free consultation").click()
    for visitor in (first, second):
        expect(visitor.page).to_have_title(
            re.compile(r"^(Your free consultation|That time was just taken) ·")
        )

    outcomes = sorted(v.page.title().split(" · ")[0] for v in (first, second))
    assert outcomes == ["That time was just taken", "Your free consultation"], outcomes
    loser = next(v.page for v in (first, second) if "just taken" in v.page.title())
    assert "Nothing has been booked for you" in loser.inner_text("main")
    nearest = loser.locator("a.slot")
    assert nearest.count() >= 1
    assert all(
        start_of(nearest.nth(i).get_attribute("href")) != start for i in range(nearest.count())
    )
    assert timefmt.clock(start_of(nearest.first.get_attribute("href")), CLIENT_ZONE) in (
        nearest.first.inner_text()
    )
    assert_accessible(loser, "the slot-taken page")
    booked = site.consultations(slug)
    assert len(booked) == 1
    assert booked[0].starts_at.replace(tzinfo=UTC) == start


def test_booking_with_the_keyboard_alone(site, visitors):
    slug, _ = site.therapist("Ines Moreau")
    visitor = visitors(CLIENT_ZONE)
    page = open_slots(visitor, site, slug)
    target = slot_link(page, n=1)
    start = start_of(target.get_attribute("href"))
    want = target.inner_text().strip()

    # Tab from the top of the page until the chosen slot has focus: no mouse, no clicks.
    href = target.get_attribute("href")
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.getAttribute('href')") == href:
            break
    else:
        pytest.fail(f"Tab never reached the {want} slot")
    assert focus_is_visible(page), "the focused slot has no visible outline"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/book/"))

    def tab_to(predicate: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate}; }}"):
                return
        pytest.fail(f"Tab never reached {predicate}")

    tab_to("el.id === 'name'")
    page.keyboard.type("Kim Keys")
    tab_to("el.id === 'email'")
    page.keyboard.type("kim@example.com")
    # Radios: Tab lands on the checked one ("Just me"), which is what we want.
    tab_to("el.name === 'kind'")
    assert page.evaluate("() => document.activeElement.value") == "individual"
    tab_to("el.id === 'consent'")
    page.keyboard.press("Space")
    tab_to("el.id === 'not_emergency'")
    page.keyboard.press("Space")
    # Shift+Tab goes back: consent is still ticked; then forward to the button.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.id") == "consent"
    assert page.evaluate("() => document.activeElement.checked")
    tab_to("el.tagName === 'BUTTON' && el.type === 'submit' && el.closest('.booking-form')")
    assert focus_is_visible(page), "the focused submit button has no visible outline"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consultations/"))
    assert "You're booked in" in page.inner_text("main")
    booked = site.consultations(slug)
    assert [(c.client_name, c.starts_at.replace(tzinfo=UTC)) for c in booked] == [
        ("Kim Keys", start)
    ]
