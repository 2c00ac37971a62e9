"""Hardening: sessions, logins and headers. Each test is named after the rule it checks."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from conftest import DATA_KEY, PASSWORD, add_therapist, csrf_from
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from helpers import book, manage_path, text
from sqlalchemy import select
from sqlalchemy import text as sql

from practice import Practice, create_app
from practice.auth.models import StaffSession, StaffUser
from practice.auth.service import AccountError, create_staff_user, deactivate
from practice.db import get_session
from practice.security import CSP

MONDAY_9 = "2030-01-07T09:00Z"
MAYA = "maya@example.org"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def make_app(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    """More apps on the test's database, with settings the shared `app` fixture doesn't have."""
    made = []

    def build(**config):  # noqa: ANN003, ANN202
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret-key",
                "PRACTICE_DATA_KEYS": [DATA_KEY],
                "PRACTICE_DATABASE_URL": database_url,
                "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
                "PRACTICE_CLOCK": clock,
                "PRACTICE_RATELIMIT_ENABLED": False,
                **config,
            }
        )
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["practice"].engine.dispose()


def login(client, email: str = MAYA, password: str = PASSWORD, **request):  # noqa: ANN001, ANN003, ANN201
    page = client.get("/staff/login", **request)
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
        **request,
    )


def logout(client) -> None:  # noqa: ANN001
    page = client.get("/staff/security")
    client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})


def session_cookie(response) -> str:  # noqa: ANN001
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def signed_in(client) -> bool:  # noqa: ANN001
    response = client.get("/staff/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sid(client) -> str | None:  # noqa: ANN001
    with client.session_transaction() as session:
        return session.get("_practice_sid")


# --- sessions ---------------------------------------------------------------------------------


def test_session_cookie_is_httponly_samesite_lax(client, therapist):
    cookie = session_cookie(login(client))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_secure_outside_development(make_app, therapist):
    production = make_app(TESTING=False)
    https = production.test_client()
    cookie = session_cookie(login(https, base_url="https://localhost"))
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Development (tests, debug, or the http demo's explicit setting) works over plain http.
    assert "Secure" not in session_cookie(login(make_app().test_client()))
    demo = make_app(TESTING=False, PRACTICE_INSECURE_COOKIES=True).test_client()
    response = login(demo)
    assert "Secure" not in session_cookie(response) and response.status_code == 302
    assert signed_in(demo)
    debug = make_app(TESTING=False)
    debug.debug = True  # app.run(debug=True) turns it on after the app was made
    assert "Secure" not in session_cookie(login(debug.test_client()))


def test_session_id_rotates_at_login(app, client, therapist):
    # An attacker plants a session (id and user) on this browser before the therapist signs in.
    with client.session_transaction() as session:
        session["_practice_sid"] = "planted-by-an-attacker"
        session["_user_id"] = "practice-staff:1"
    assert not signed_in(client)
    before = client.get_cookie("session").value
    login(client)
    first = sid(client)
    assert first and first != "planted-by-an-attacker"
    assert client.get_cookie("session").value != before
    logout(client)
    login(client)
    assert sid(client) not in (None, first)
    with app.app_context():
        hashes = get_session().scalars(select(StaffSession.id_hash)).all()
    assert len(hashes) == 2 and all(first not in h for h in hashes)  # only hashes are kept


def test_staff_session_ends_after_30_idle_minutes(client, clock, therapist):
    login(client)
    clock.advance(minutes=29)
    assert signed_in(client)
    clock.advance(minutes=29)  # activity in between keeps it going
    assert signed_in(client)
    clock.advance(minutes=31)
    response = client.get("/staff/intakes")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert "signed out after a while without activity" in text(client.get("/staff/login"))
    clock.advance(minutes=-31)  # and it stays ended, even if the clock is put back
    assert not signed_in(client)


def test_staff_session_ends_after_12_hours_in_all(client, clock, therapist):
    login(client)
    for minutes in range(20, 12 * 60 + 1, 20):
        clock.advance(minutes=20)
        assert signed_in(client), f"signed out after {minutes} active minutes"
    clock.advance(minutes=20)
    assert not signed_in(client)
    login(client)
    assert signed_in(client)


def test_replayed_cookie_after_logout_is_refused(app, client, therapist):
    login(client)
    captured = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert signed_in(thief)  # the cookie is all it takes while the sign-in lasts...
    logout(client)
    assert not signed_in(client)
    assert not signed_in(thief)  # ...and nothing once it has ended
    with app.app_context():
        assert get_session().scalars(select(StaffSession.ended_at)).one() is not None


def test_logout_ends_only_that_devices_session(app, therapist):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop)
    login(phone)
    logout(laptop)
    assert not signed_in(laptop)
    assert signed_in(phone)


def test_deactivating_a_user_ends_all_their_sessions(app, clock, therapist):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop)
    login(phone)
    with app.app_context():
        db = get_session()
        deactivate(db, db.scalars(select(StaffUser)).one(), clock.now)
        db.commit()
        assert all(e is not None for e in db.scalars(select(StaffSession.ended_at)))
    assert not signed_in(laptop) and not signed_in(phone)
    assert login(laptop).status_code == 200  # and the password no longer opens it
    assert not signed_in(laptop)


def test_password_change_ends_the_other_sessions(app, therapist):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop)
    login(phone)
    page = laptop.get("/staff/security")
    response = laptop.post(
        "/staff/security/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current": PASSWORD,
            "new": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert signed_in(laptop) and not signed_in(phone)
    assert login(phone).status_code == 200  # the old password is refused
    assert login(phone, password="a brand new passphrase").status_code == 302


def test_sign_out_everywhere_else_keeps_this_device(app, therapist):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    for device in (laptop, phone, tablet):
        login(device)
    page = laptop.get("/staff/security")
    assert "signed in on 2 other devices" in text(page)
    laptop.post("/staff/security/sign-out-others", data={"csrf_token": csrf_from(page.text)})
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(tablet)
    assert "not signed in anywhere else" in text(laptop.get("/staff/security"))


# --- logins -----------------------------------------------------------------------------------


def test_passwords_need_at_least_12_characters_everywhere(app, client, runner, therapist):
    message = "at least 12 characters"
    cli = runner.invoke(
        args=["practice", "create-user", "kim@example.org", "--name", "Kim", "--role", "admin"],
        input="eleven char\n",
    )
    assert cli.exit_code != 0 and message in cli.output
    with app.app_context(), pytest.raises(AccountError, match=message):
        create_staff_user(get_session(), "kim@example.org", "Kim", "admin", "x" * 11)
    with app.app_context():
        create_staff_user(get_session(), "admin@example.org", "Admin", "admin", PASSWORD)
        get_session().commit()
    login(client, "admin@example.org")
    page = client.get("/staff/therapists")
    added = client.post(
        "/staff/therapists",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Tom Okafor",
            "email": "tom@example.org",
            "timezone": "UTC",
            "password": "eleven char",
        },
    )
    assert added.status_code == 422 and message in text(added)
    changed = client.post(
        "/staff/security/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current": PASSWORD,
            "new": "eleven char",
            "confirm": "eleven char",
        },
    )
    assert changed.status_code == 422 and message in text(changed)
    with app.app_context():
        emails = get_session().scalars(select(StaffUser.email)).all()
    assert "tom@example.org" not in emails and "kim@example.org" not in emails
    assert login(client, "admin@example.org").status_code == 302  # password unchanged


def test_login_failures_get_one_generic_message(app, client, therapist):
    with app.app_context():
        create_staff_user(get_session(), "gone@example.org", "Gone", "therapist", PASSWORD)
        get_session().scalars(
            select(StaffUser).filter_by(email="gone@example.org")
        ).one().active = False
        get_session().commit()
    pages = [
        text(login(client, MAYA, "not the password at all")),
        text(login(client, "nobody@example.org", "not the password at all")),
        text(login(client, "gone@example.org", PASSWORD)),  # a closed account says no more
    ]
    notices = [re.findall(r'class="notice[^"]*"[^>]*>(.*?)</p>', page) for page in pages]
    generic = "That email and password don't match an account. Please try again."
    assert notices == [[generic]] * 3
    assert "deactivated" not in pages[2].lower() and "closed" not in pages[2].lower()


def test_login_is_throttled_per_address(make_app, therapist):
    app = make_app(PRACTICE_RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(10):
        response = login(client, f"guess{n}@example.org", "not the password at all")
        assert response.status_code == 200
    throttled = login(client, MAYA)  # even the right password, from this address, must wait
    assert throttled.status_code == 429
    assert "many requests" in text(throttled) and "maya" not in text(throttled).lower()
    elsewhere = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert login(client, MAYA, **elsewhere).status_code == 302


def test_login_is_throttled_per_account(make_app, therapist):
    app = make_app(PRACTICE_RATELIMIT_ENABLED=True)
    client = app.test_client()

    def at(n: int) -> dict:
        return {"environ_base": {"REMOTE_ADDR": f"198.51.100.{n}"}}

    # A colleague's successes don't count against the account...
    for n in range(6):
        assert login(client, MAYA, **at(n)).status_code == 302
    # ...failures do, whichever address they come from.
    for n in range(5):
        assert login(client, MAYA, "not the password at all", **at(10 + n)).status_code == 200
    assert login(client, MAYA, **at(20)).status_code == 429
    assert login(client, " MAYA@example.org ", **at(21)).status_code == 429  # same account
    add_therapist(app, name="Tom Okafor")
    assert login(client, "tom@example.org", **at(22)).status_code == 302


def enrol(client, clock) -> pyotp.TOTP:  # noqa: ANN001
    page = client.get("/staff/security")
    assert "Off." in text(page)
    client.post("/staff/security/two-factor/start", data={"csrf_token": csrf_from(page.text)})
    page = client.get("/staff/security")
    secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page.text).group(1)
    uri = text(page)
    assert f"otpauth://totp/Harbour%20Counselling:maya%40example.org?secret={secret}" in uri
    totp = pyotp.TOTP(secret)
    wrong = client.post(
        "/staff/security/two-factor/confirm",
        data={"csrf_token": csrf_from(page.text), "code": totp.at(clock.now, counter_offset=9)},
    )
    assert wrong.status_code == 422 and "didn't match" in text(wrong)
    assert "Off." not in text(client.get("/staff/security"))  # still waiting for a right code
    right = client.post(
        "/staff/security/two-factor/confirm",
        data={"csrf_token": csrf_from(page.text), "code": totp.at(clock.now)},
    )
    assert right.status_code == 302
    assert "Two-step sign-in is on" in text(client.get("/staff/security"))
    return totp


def send_code(client, code: str):  # noqa: ANN001, ANN201
    page = client.get("/staff/login/code")
    assert page.status_code == 200, page.headers.get("Location")
    return client.post("/staff/login/code", data={"csrf_token": csrf_from(page.text), "code": code})


def test_totp_two_factor_is_enrolled_with_a_confirming_code(app, client, clock, therapist):
    login(client)
    enrol(client, clock)
    with app.app_context():
        user = get_session().scalars(select(StaffUser)).one()
        assert user.totp_enabled and len(user.totp_secret) == 32
        # At rest it is ciphertext: a copy of the database can't mint codes.
        raw = get_session().execute(sql("SELECT totp_secret FROM practice_staff_user")).scalar()
        assert raw != user.totp_secret and user.totp_secret not in raw


def test_totp_login_asks_for_the_code(app, client, clock, therapist):
    login(client)
    totp = enrol(client, clock)
    logout(client)
    clock.advance(seconds=30)
    first_step = login(client)
    assert first_step.headers["Location"].endswith("/staff/login/code")
    assert not signed_in(client)  # a password alone opens nothing
    wrong = send_code(client, totp.at(clock.now, counter_offset=-5))
    assert wrong.status_code == 200 and "code didn't work" in text(wrong)
    assert not signed_in(client)
    right = send_code(client, f"{totp.at(clock.now)[:3]} {totp.at(clock.now)[3:]}")
    assert right.headers["Location"].endswith("/staff/")
    assert signed_in(client)


def test_signing_in_and_out_keeps_a_host_sites_own_session_keys(client, therapist):
    """Mounted in a practice's site, a staff sign-in must not empty the site's basket."""
    with client.session_transaction() as cookie:
        cookie["cart"] = ["gift voucher"]
        cookie["_practice_sid"] = "planted-by-someone-else"
    assert login(client).status_code == 302 and signed_in(client)
    with client.session_transaction() as cookie:
        assert cookie["cart"] == ["gift voucher"]
        assert cookie["_practice_sid"] != "planted-by-someone-else"
    logout(client)
    assert not signed_in(client)
    with client.session_transaction() as cookie:
        assert cookie["cart"] == ["gift voucher"] and "_practice_sid" not in cookie


def test_totp_codes_in_other_digits_are_refused_plainly(client, clock, therapist):
    """'²²²²²²' and Arabic-Indic digits pass str.isdigit(): they must get the plain refusal."""
    login(client)
    enrol(client, clock)
    logout(client)
    clock.advance(seconds=30)
    login(client)
    for code in ("\u0661\u0662\u0663\u0664\u0665\u0666", "\u00b2" * 6, "\uff11" * 6):
        refused = send_code(client, code)
        assert refused.status_code == 200 and "code didn't work" in text(refused)
    assert not signed_in(client)


def test_totp_code_is_accepted_only_once(client, clock, therapist):
    login(client)
    totp = enrol(client, clock)
    logout(client)
    clock.advance(seconds=30)
    login(client)
    code = totp.at(clock.now)
    assert send_code(client, code).status_code == 302
    logout(client)
    login(client)
    assert "code didn't work" in text(send_code(client, code))  # seen over a shoulder
    clock.advance(seconds=30)
    assert send_code(client, totp.at(clock.now)).status_code == 302


def test_totp_step_expires_after_five_minutes(client, clock, therapist):
    login(client)
    totp = enrol(client, clock)
    logout(client)
    clock.advance(seconds=30)
    login(client)
    clock.advance(minutes=6)
    response = client.get("/staff/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/login")
    assert not signed_in(client)
    login(client)
    assert send_code(client, totp.at(clock.now)).status_code == 302


def test_totp_can_be_turned_off_with_the_password(client, clock, therapist):
    login(client)
    enrol(client, clock)
    page = client.get("/staff/security")
    wrong = client.post(
        "/staff/security/two-factor/disable",
        data={"csrf_token": csrf_from(page.text), "password": "not the password at all"},
    )
    assert wrong.status_code == 422
    client.post(
        "/staff/security/two-factor/disable",
        data={"csrf_token": csrf_from(page.text), "password": PASSWORD},
    )
    logout(client)
    assert login(client).headers["Location"].endswith("/staff/")


# --- headers ----------------------------------------------------------------------------------

INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> block": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"""\sstyle\s*=\s*["']""", re.I),
    "on*= handler": re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _inline_code(html: str) -> list[str]:
    return [name for name, pattern in INLINE.items() if pattern.search(html)]


def test_csp_forbids_inline_script(app, client, therapist):
    _, slug = therapist
    manage = manage_path(book(app.test_client(), slug, MONDAY_9))
    pages = ["/", f"/therapists/{slug}", f"/book/{slug}?start={MONDAY_9}", manage, "/staff/login"]
    login(client)
    pages += [
        "/staff/",
        "/staff/settings",
        "/staff/security",
        "/staff/intakes",
        "/staff/worksheets/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert policy == CSP
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert _inline_code(response.text) == [], path
    # The templates themselves: every script and style lives in practice/static.
    found = {
        str(p.relative_to(TEMPLATES)): _inline_code(p.read_text())
        for p in TEMPLATES.rglob("*.html")
    }
    assert {name: kinds for name, kinds in found.items() if kinds} == {}


def test_every_response_has_nosniff_referrer_policy_and_frame_ancestors(app, client, therapist):
    _, slug = therapist
    login(client)
    responses = {
        "page": client.get(f"/therapists/{slug}"),
        "staff page": client.get("/staff/"),
        "json": client.get("/api/v1/therapists"),
        "not found": client.get("/no-such-page"),
        "bad link": client.get("/consultations/not-a-real-link"),
        "stylesheet": client.get("/static/practice.css"),
        "pdf": client.get("/staff/worksheets/our-cycle/blank.pdf"),
    }
    for name, response in responses.items():
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), name
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], name
        response.close()


def test_hsts_only_outside_development(make_app, therapist):
    production = make_app(TESTING=False).test_client()
    for path in ("/", "/staff/login", "/no-such-page", "/static/practice.css"):
        response = production.get(path, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path
        response.close()
    development = make_app().test_client()
    assert "Strict-Transport-Security" not in development.get("/").headers
    demo = make_app(TESTING=False, PRACTICE_INSECURE_COOKIES=True).test_client()
    assert "Strict-Transport-Security" not in demo.get("/").headers


def test_pages_holding_client_data_are_never_stored(app, client, therapist):
    _, slug = therapist
    booked = book(app.test_client(), slug, MONDAY_9, kind="couple", partner_name="Sam Rivera")
    manage = manage_path(booked)
    assert booked.headers["Cache-Control"] == "no-store"
    intake = re.search(r'href="[^"]*(/intake/[^"]+)"', app.test_client().get(manage).text)
    login(client)
    with app.app_context():
        from practice.booking.models import Consultation

        consultation_id = get_session().scalars(select(Consultation.id)).one()
    private = [
        manage,
        manage + "/calendar.ics",
        manage + "/reschedule",
        intake.group(1),
        "/staff/",
        "/staff/intakes",
        "/staff/settings",
        "/staff/security",
        f"/staff/worksheets/?consultation={consultation_id}",
        "/staff/worksheets/our-cycle/blank.pdf",
        "/staff/login",
    ]
    for path in private:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    page = client.get("/staff/worksheets/")
    pdf = client.post(
        "/staff/worksheets/print",
        data={
            "csrf_token": csrf_from(page.text),
            "consultation": str(consultation_id),
            "worksheets": "our-cycle",
            "copy": "personal",
            "partner_one": "Jordan Lee",
            "partner_two": "Sam Rivera",
        },
    )
    assert pdf.mimetype == "application/pdf" and pdf.headers["Cache-Control"] == "no-store"
    with client.get("/static/practice.css") as css:  # the same for everyone: may be cached
        assert "no-store" not in css.headers.get("Cache-Control", "")


def test_host_pages_keep_their_own_headers(tmp_path, database_url, clock):
    host = Flask("host_site")
    host.config.update(
        SECRET_KEY="host-secret",
        SESSION_COOKIE_SECURE=True,
        PRACTICE_DATA_KEYS=[DATA_KEY],
        PRACTICE_DATABASE_URL=database_url,
        PRACTICE_CLOCK=clock,
        PRACTICE_MAIL_DIR=str(tmp_path / "mail"),
    )

    @host.get("/")
    def host_home():  # noqa: ANN202
        return "<p>Host home</p><script>var host = 'inline is their business';</script>"

    Practice(host, url_prefix="/counselling")
    try:
        client = host.test_client()
        home = client.get("/")
        for header in ("Content-Security-Policy", "Strict-Transport-Security", "Cache-Control"):
            assert header not in home.headers
        ours = client.get("/counselling/")
        assert ours.headers["Content-Security-Policy"] == CSP
        # HSTS would bind the host's whole origin: mounted, it is the host's choice (PRACTICE_HSTS).
        assert "Strict-Transport-Security" not in ours.headers
        assert ours.headers["Cache-Control"] == "no-store"
        assert client.get("/counselling/staff/login").headers["X-Content-Type-Options"] == "nosniff"
    finally:
        host.extensions["practice"].engine.dispose()


def test_error_pages_are_generic(client):
    response = client.get("/consultations/anything/calendar.ics")
    assert response.status_code == 404
    assert "Traceback" not in response.text and "anything" not in response.text
    missing = client.get("/staff/intakes/does-not-exist")
    assert missing.status_code == 302  # not even a 404 before signing in


def test_forged_session_cookie_is_refused(app, client, therapist):
    with app.app_context():
        user_id = get_session().scalars(select(StaffUser.id)).one()
    forger = Flask("forger")
    forger.secret_key = "a guess at the key"
    forged = SecureCookieSessionInterface().get_signing_serializer(forger)
    client.set_cookie(
        "session",
        forged.dumps({"_user_id": f"practice-staff:{user_id}", "_practice_sid": "x", "_fresh": 1}),
    )
    assert not signed_in(client)
    # A cookie made with the right key but no live sign-in behind it (an older version's, or a
    # sign-in that has ended) opens nothing either.
    with client.session_transaction() as session:
        session["_user_id"] = f"practice-staff:{user_id}"
    assert not signed_in(client)


def test_booking_posts_are_throttled_per_address(make_app, therapist):
    # The limits decorate views registered before them: this checks they really apply.
    app = make_app(PRACTICE_RATELIMIT_ENABLED=True)
    _, slug = therapist
    client = app.test_client()
    statuses = [
        client.post(f"/book/{slug}", data={"start": MONDAY_9}).status_code for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    assert client.get(f"/book/{slug}", query_string={"start": MONDAY_9}).status_code == 200
