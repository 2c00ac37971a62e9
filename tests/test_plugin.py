"""Mounting the plugin in a host site that has its own database, logins, CSRF and templates."""

from __future__ import annotations

import pytest
from conftest import DATA_KEY, PASSWORD, add_therapist, csrf_from
from flask import Flask, render_template_string
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import inspect

from practice import Practice
from practice.migrate import upgrade

MONDAY_9 = "2030-01-07T09:00Z"


class HostUser(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@pytest.fixture
def make_host():  # noqa: ANN201
    """Builds host sites; closes their database connections (ours and the host's) afterwards."""
    made = []

    def build(tmp_path, database_url, clock, **options):  # noqa: ANN001, ANN003, ANN202
        site = _make_host(tmp_path, database_url, clock, **options)
        made.append(site)
        return site

    yield build
    for host, db, *_ in made:
        host.extensions["practice"].engine.dispose()
        with host.app_context():
            db.engine.dispose()


def _make_host(  # noqa: ANN202
    tmp_path,  # noqa: ANN001
    database_url,  # noqa: ANN001
    clock,  # noqa: ANN001
    url_prefix="/counselling",  # noqa: ANN001
    config=None,  # noqa: ANN001
    extensions_after_practice=False,  # noqa: ANN001
):
    """A host site; with extensions_after_practice, its CSRFProtect and LoginManager are made
    after Practice(app) instead of before."""
    templates = tmp_path / "host_templates" / "practice" / "booking"
    templates.mkdir(parents=True)
    (templates / "home.html").write_text(
        "<h1>Host-branded booking page</h1>"
        "{% for t in therapists %}<p>{{ t.display_name }}</p>{% endfor %}"
    )
    static = tmp_path / "host_static"
    static.mkdir()
    (static / "site.css").write_text("body { color: rebeccapurple }")
    host = Flask(
        "host_site",
        template_folder=str(tmp_path / "host_templates"),
        static_folder=str(static),
        static_url_path="/static",
    )
    host.config.update(
        SECRET_KEY="host-secret",
        PRACTICE_DATA_KEYS=[DATA_KEY],
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        PRACTICE_DATABASE_URL=database_url,
        PRACTICE_CLOCK=clock,
        PRACTICE_MAIL_DIR=str(tmp_path / "mail"),
        PRACTICE_RATELIMIT_ENABLED=False,
    )
    host.config.update(config or {})
    db = SQLAlchemy(host)

    class Article(db.Model):
        id = db.Column(db.Integer, primary_key=True)

    def add_extensions():  # noqa: ANN202
        csrf = CSRFProtect(host)
        logins = LoginManager(host)

        @logins.user_loader
        def load_host_user(user_id: str):  # noqa: ANN202
            return HostUser(user_id) if user_id.startswith("host-") else None

        return csrf, logins

    if not extensions_after_practice:
        csrf, logins = add_extensions()

    @host.get("/")
    def host_home():  # noqa: ANN202
        return render_template_string("<p>Host home</p>")

    @host.post("/host-login")
    def host_login():  # noqa: ANN202
        login_user(HostUser("host-7"))
        return "ok"

    @host.get("/whoami")
    def whoami():  # noqa: ANN202
        return current_user.get_id() or "anonymous"

    Practice(host, url_prefix=url_prefix)
    if extensions_after_practice:
        csrf, logins = add_extensions()
    with host.app_context():
        db.create_all()
    return host, db, csrf, logins


def _staff_sign_in(client, prefix="/counselling"):  # noqa: ANN001, ANN202
    page = client.get(f"{prefix}/staff/login").get_data(as_text=True)
    return client.post(
        f"{prefix}/staff/login",
        data={"email": "maya@example.org", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )


def test_mounted_under_a_prefix_with_a_host_template_override(
    tmp_path, database_url, clock, make_host
):
    host, *_ = make_host(tmp_path, database_url, clock)
    _, slug = add_therapist(host)
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "<p>Host home</p>"
    home = client.get("/counselling/").get_data(as_text=True)
    assert "Host-branded booking page" in home and "Maya Chen" in home
    slots = client.get(f"/counselling/therapists/{slug}?tz=UTC")
    assert slots.status_code == 200
    assert "/counselling/practice-static/practice.css" in slots.get_data(as_text=True)
    # (with: closes the file it streams)
    with client.get("/counselling/practice-static/practice.css") as css:
        assert css.status_code == 200
    assert client.get("/therapists/" + slug).status_code == 404


def test_booking_works_under_the_hosts_csrf_protection(tmp_path, database_url, clock, make_host):
    host, *_ = make_host(tmp_path, database_url, clock)
    _, slug = add_therapist(host)
    client = host.test_client()
    page = client.get(f"/counselling/book/{slug}", query_string={"start": MONDAY_9, "tz": "UTC"})
    html = page.get_data(as_text=True)
    from conftest import hidden
    from helpers import CLIENT

    response = client.post(
        f"/counselling/book/{slug}",
        data={
            **CLIENT,
            "csrf_token": csrf_from(html),
            "idempotency_key": hidden(html, "idempotency_key"),
            "start": MONDAY_9,
            "tz": "UTC",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/counselling/consultations/")
    # The JSON API authenticates by its own token, so the host's CSRFProtect leaves it alone.
    api = client.post("/counselling/api/v1/consultations", json={"therapist": slug})
    assert api.status_code == 422


def test_our_forms_keep_csrf_when_the_host_turns_it_off_for_its_own(
    tmp_path, database_url, clock, make_host
):
    host, *_ = make_host(tmp_path, database_url, clock)
    host.config["WTF_CSRF_ENABLED"] = False
    _, slug = add_therapist(host)
    client = host.test_client()
    page = client.get(f"/counselling/book/{slug}", query_string={"start": MONDAY_9, "tz": "UTC"})
    from conftest import hidden
    from helpers import CLIENT

    forged = client.post(
        f"/counselling/book/{slug}",
        data={
            **CLIENT,
            "idempotency_key": hidden(page.get_data(as_text=True), "idempotency_key"),
            "start": MONDAY_9,
            "tz": "UTC",
        },
    )
    assert forged.status_code == 422 and "timed out" in forged.get_data(as_text=True)
    staff = host.test_client()
    refused = staff.post(
        "/counselling/staff/login", data={"email": "maya@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 200  # the form again, not a sign-in
    assert staff.get("/counselling/staff/").status_code == 302


def test_host_and_plugin_logins_share_one_login_manager(tmp_path, database_url, clock, make_host):
    host, _db, _csrf, logins = make_host(tmp_path, database_url, clock)
    add_therapist(host)
    assert host.login_manager is logins
    host_client = host.test_client()
    host.config["WTF_CSRF_ENABLED"] = False
    host_client.post("/host-login")
    assert host_client.get("/whoami").get_data(as_text=True) == "host-7"
    # A host user is not staff: the plugin's staff pages stay closed to them.
    assert host_client.get("/counselling/staff/").status_code == 302
    host.config["WTF_CSRF_ENABLED"] = True
    staff = host.test_client()
    page = staff.get("/counselling/staff/login").get_data(as_text=True)
    response = staff.post(
        "/counselling/staff/login",
        data={"email": "maya@example.org", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"] == "/counselling/staff/"
    assert staff.get("/whoami").get_data(as_text=True).startswith("practice-staff:")
    assert staff.get("/counselling/staff/").status_code == 200


def test_plugin_tables_are_prefixed_and_live_beside_the_hosts(tmp_path, clock, make_host):
    shared = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    host, db, *_ = make_host(tmp_path, shared, clock)
    host.config["SQLALCHEMY_DATABASE_URI"] = shared
    upgrade(host.extensions["practice"].engine)
    names = inspect(host.extensions["practice"].engine).get_table_names()
    ours = [n for n in names if n != "article"]
    assert ours and all(n.startswith("practice_") for n in ours)
    assert "practice_alembic_version" in names and "alembic_version" not in names


def test_settings_are_namespaced_with_defaults(tmp_path, database_url, clock, make_host):
    host, *_ = make_host(tmp_path, database_url, clock)
    assert host.config["PRACTICE_DEFAULT_TIMEZONE"] == "America/New_York"
    assert "practice" in host.extensions
    assert all(
        k.startswith(("PRACTICE_", "SQLALCHEMY_", "SECRET_KEY", "WTF_"))
        or k in Flask.default_config
        for k in host.config
    )
    assert "practice" in host.cli.commands


@pytest.mark.parametrize(
    "host_settings",
    [{"RATELIMIT_ENABLED": False}, {"RATELIMIT_DEFAULT": "2 per minute"}],
    ids=["host-limiter-off", "host-default-limit"],
)
def test_the_hosts_ratelimit_settings_neither_reach_nor_come_from_the_plugin(
    tmp_path, database_url, clock, make_host, host_settings
):
    settings = {
        **host_settings,
        "PRACTICE_RATELIMIT_ENABLED": True,
        "PRACTICE_RATELIMIT_LOGIN": "2 per minute",
    }
    host, *_ = make_host(tmp_path, database_url, clock, config=settings)
    assert {k: v for k, v in host.config.items() if k.startswith("RATELIMIT")} == host_settings
    client = host.test_client()
    # The host's default limit is the host's business: our limiter leaves its pages alone.
    assert [client.get("/").status_code for _ in range(4)] == [200] * 4
    # ...and turning its own limiter off doesn't turn off our sign-in throttling.
    page = client.get("/counselling/staff/login").get_data(as_text=True)
    wrong = {"email": "maya@example.org", "password": "wrong", "csrf_token": csrf_from(page)}
    codes = [client.post("/counselling/staff/login", data=wrong).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_staff_sign_in_when_the_host_makes_its_login_manager_after_mounting(
    tmp_path, database_url, clock, make_host
):
    host, _db, _csrf, logins = make_host(
        tmp_path, database_url, clock, extensions_after_practice=True
    )
    add_therapist(host)
    assert host.login_manager is logins
    staff = host.test_client()
    assert _staff_sign_in(staff).headers["Location"] == "/counselling/staff/"
    assert staff.get("/counselling/staff/").status_code == 200
    host.config["WTF_CSRF_ENABLED"] = False
    visitor = host.test_client()
    visitor.post("/host-login")
    assert visitor.get("/whoami").get_data(as_text=True) == "host-7"


def test_the_hosts_handler_for_its_own_exception_wins_on_our_pages(
    tmp_path, database_url, clock, make_host
):
    host, *_ = make_host(tmp_path, database_url, clock)

    class HostMaintenance(Exception):
        pass

    @host.before_request
    def closed_for_maintenance():  # noqa: ANN202
        from flask import request

        if request.args.get("maintenance"):
            raise HostMaintenance

    @host.errorhandler(HostMaintenance)
    def maintenance_page(exc):  # noqa: ANN001, ANN202
        return "Back soon", 503

    response = host.test_client().get("/counselling/?maintenance=1")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "Back soon")
    assert host.test_client().get("/counselling/").status_code == 200


def test_our_static_files_never_collide_with_the_hosts(tmp_path, database_url, clock, make_host):
    host, *_ = make_host(tmp_path, database_url, clock, url_prefix="")
    _, slug = add_therapist(host)
    client = host.test_client()
    page = client.get(f"/therapists/{slug}?tz=UTC")
    html = page.get_data(as_text=True)
    assert "/practice-static/practice.css" in html and "/practice-static/practice.js" in html
    assert "style-src 'self'" in page.headers["Content-Security-Policy"]
    for path in ("/practice-static/practice.css", "/practice-static/practice.js"):
        with client.get(path) as ours:
            assert ours.status_code == 200
    with client.get("/static/site.css") as theirs:
        assert theirs.get_data(as_text=True) == "body { color: rebeccapurple }"


def test_the_api_is_csrf_exempt_whenever_the_host_adds_csrfprotect(
    tmp_path, database_url, clock, make_host
):
    host, *_ = make_host(tmp_path, database_url, clock, extensions_after_practice=True)
    _, slug = add_therapist(host)
    client = host.test_client()
    api = client.post("/counselling/api/v1/consultations", json={"therapist": slug})
    assert api.status_code == 422
    # Our forms are still protected by it.
    assert client.post("/counselling/staff/login", data={"email": "x"}).status_code == 400


def test_a_second_mount_on_the_same_app_is_refused_up_front(
    tmp_path, database_url, clock, make_host
):
    host, *_ = make_host(tmp_path, database_url, clock)
    state = host.extensions["practice"]
    with pytest.raises(RuntimeError, match="once per app"):
        Practice().init_app(host, url_prefix="/elsewhere")
    assert host.extensions["practice"] is state
    assert host.test_client().get("/counselling/").status_code == 200


def test_hsts_on_a_host_only_when_it_asks(tmp_path, database_url, clock, make_host):
    host, *_ = make_host(tmp_path, database_url, clock)
    assert not host.testing and not host.debug
    response = host.test_client().get("/counselling/")
    # HSTS covers the whole origin for a year: that is the host's decision, not ours.
    assert "Strict-Transport-Security" not in response.headers
    assert "Content-Security-Policy" in response.headers
    host.config["PRACTICE_HSTS"] = True
    response = host.test_client().get("/counselling/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
