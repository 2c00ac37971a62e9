"""Health data at rest: encrypted columns and key rotation; the audit log's hash chain and
append-only triggers; a client's erasure leaving nothing that names them."""

from __future__ import annotations

import os
import re
import stat
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from conftest import DATA_KEY, PASSWORD, add_therapist, csrf_from
from cryptography.fernet import Fernet
from flask import Flask
from helpers import CLIENT, book, read_eml
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from test_intake_flow import answer, book_couple, deliver, intake_links, persona

from practice import Practice, create_app
from practice.audit import AuditEvent, record
from practice.audit.chain import verify
from practice.auth.service import create_staff_user
from practice.booking.models import Consultation
from practice.crypto import DataKeyError, is_token
from practice.db import get_session, make_engine
from practice.intake.models import Intake, IntakeAnswer
from practice.migrate import upgrade

MONDAY_9 = "2030-01-07T09:00Z"
MONDAY_11 = "2030-01-07T11:00Z"
WORRY = "Since the move to Duluth I lie awake counting what I did wrong."
PARTNER_WORRY = "I go quiet in the garage until the shouting stops."
NOTE = "Review the garage disclosure first."
PG_TRIGGER = "practice_audit_event_append_only"


def with_free_text(app, answers: dict, words: str) -> dict:  # noqa: ANN001
    q = app.extensions["practice"].questionnaires.get("relationship-intake")
    for item in q.items.values():
        if item.kind == "long_text":
            answers[item.id] = f"{words} ({item.id})"
    return answers


def couple_with_intakes(app, client, runner, mail_dir) -> str:  # noqa: ANN001
    """Jordan and Sam book, both answer (Sam endorses a safety item); returns Jordan's intake."""
    book_couple(app, client)
    deliver(runner)
    links = intake_links(mail_dir)
    answer(client, links[CLIENT["email"]], with_free_text(app, persona(app, 5, 1), WORRY))
    answer(
        client,
        links["sam@example.com"],
        with_free_text(app, persona(app, 1, 5, safety="yes"), PARTNER_WORRY),
    )
    with app.app_context():
        session = get_session()
        intake = session.scalars(select(Intake).where(Intake.respondent == "client")).one()
        intake.clinician_note = NOTE
        session.commit()
        return intake.public_id


def raw(app, sql: str) -> list[tuple]:  # noqa: ANN001
    with app.extensions["practice"].engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def maya(app):  # noqa: ANN001, ANN201
    return add_therapist(app)


@pytest.fixture
def mail_dir(tmp_path):  # noqa: ANN001, ANN201
    return tmp_path / "mail"


# --- encryption at rest ---------------------------------------------------------------------


def test_answers_results_and_notes_are_ciphertext_in_the_database(
    app, client, runner, maya, mail_dir
):
    couple_with_intakes(app, client, runner, mail_dir)
    values = [v for (v,) in raw(app, "SELECT value FROM practice_intake_answer")]
    results = [r for (r,) in raw(app, "SELECT result FROM practice_intake")]
    notes = [n for (n,) in raw(app, "SELECT clinician_note FROM practice_intake")]
    booking_notes = [n for (n,) in raw(app, "SELECT note FROM practice_consultation")]
    stored = values + results + notes + booking_notes
    assert len(values) > 40 and all(is_token(v) for v in stored)
    everything = " ".join(stored)
    for secret in (WORRY, PARTNER_WORRY, NOTE, CLIENT["note"], "codependent", "safety", '"5"'):
        assert secret not in everything
    # The queue still sorts on plain columns: no clinical detail, and no decryption needed.
    assert sorted(raw(app, "SELECT respondent, queue_level, urgent FROM practice_intake")) == [
        ("client", "high", False),
        ("partner", "urgent", True),
    ]
    with app.app_context():
        session = get_session()
        intake = session.scalars(select(Intake).where(Intake.respondent == "client")).one()
        assert intake.clinician_note == NOTE
        assert isinstance(intake.result, dict) and intake.result
        assert WORRY in intake.answer_map()["what_brings_you"]
        assert session.scalars(select(Consultation)).one().note == CLIENT["note"]


def test_rotation_reencrypts_everything_so_the_old_key_can_go(
    app, client, runner, maya, mail_dir, database_url, tmp_path
):
    couple_with_intakes(app, client, runner, mail_dir)
    before = raw(app, "SELECT intake_id, item_id, value FROM practice_intake_answer ORDER BY 1, 2")
    new_key = Fernet.generate_key().decode()

    def app_with(keys: list[str]) -> Flask:
        made = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "k",
                "PRACTICE_DATABASE_URL": database_url,
                "PRACTICE_DATA_KEYS": keys,
                "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
            }
        )
        made.instance_path = str(tmp_path / "instance")
        return made

    rotating = app_with([new_key, DATA_KEY])
    result = rotating.test_cli_runner().invoke(args=["practice", "rotate-keys"])
    assert result.exit_code == 0, result.output
    count = int(re.search(r"Re-encrypted (\d+)", result.output).group(1))
    assert count == len(before) + 2 * 2 + 1  # answers, 2 results + 2 notes, 1 booking note
    after = raw(app, "SELECT intake_id, item_id, value FROM practice_intake_answer ORDER BY 1, 2")
    assert all(a[2] != b[2] and is_token(a[2]) for a, b in zip(after, before, strict=True))
    again = rotating.test_cli_runner().invoke(args=["practice", "rotate-keys"])
    assert "Re-encrypted 0 values" in again.output

    only_new = app_with([new_key])
    with only_new.app_context():
        session = get_session()
        intake = session.scalars(select(Intake).where(Intake.respondent == "client")).one()
        assert intake.clinician_note == NOTE and intake.result
        assert WORRY in intake.answer_map()["what_brings_you"]
        assert session.scalars(select(Consultation)).one().note == CLIENT["note"]
    only_old = app_with([DATA_KEY])
    with only_old.app_context(), pytest.raises(DataKeyError, match="does not decrypt"):
        get_session().scalars(select(IntakeAnswer)).all()
    for made in (rotating, only_new, only_old):
        made.extensions["practice"].engine.dispose()


def test_a_mounted_host_without_data_keys_refuses_to_start(monkeypatch, database_url):
    monkeypatch.delenv("PRACTICE_DATA_KEYS", raising=False)
    host = Flask("host_without_keys")
    host.config.update(SECRET_KEY="s", PRACTICE_DATABASE_URL=database_url)
    with pytest.raises(DataKeyError, match="PRACTICE_DATA_KEYS is not set"):
        Practice(host)
    bad = Flask("host_with_a_bad_key")
    bad.config.update(SECRET_KEY="s", PRACTICE_DATABASE_URL=database_url)
    bad.config["PRACTICE_DATA_KEYS"] = ["not-a-key"]
    with pytest.raises(DataKeyError, match="Fernet key"):
        Practice(bad)
    # The environment variable works as well as the config, as a comma-separated list.
    monkeypatch.setenv("PRACTICE_DATA_KEYS", f"{Fernet.generate_key().decode()},{DATA_KEY}")
    good = Flask("host_with_env_keys")
    good.config.update(SECRET_KEY="s", PRACTICE_DATABASE_URL=database_url)
    Practice(good)
    assert len(good.extensions["practice"].cipher.keys) == 2
    good.extensions["practice"].engine.dispose()


def test_the_standalone_app_keeps_a_key_in_its_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PRACTICE_DATA_KEYS", raising=False)
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path / "inst"))
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    first = create_app({"PRACTICE_DATABASE_URL": url})
    key_file = tmp_path / "inst" / "data_keys"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = create_app({"PRACTICE_DATABASE_URL": url})
    assert first.config["PRACTICE_DATA_KEYS"] == second.config["PRACTICE_DATA_KEYS"]
    assert first.config["PRACTICE_DATA_KEYS"] == [key_file.read_text().strip()]
    for made in (first, second):
        made.extensions["practice"].engine.dispose()


# --- migration 0004 on a database holding 0003 data ---------------------------------------------


@pytest.fixture
def empty_url(request, tmp_path, database_url):  # noqa: ANN001, ANN201
    """A database with no tables, on the same backend as database_url."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"practice_mig_{os.getpid()}"
    admin = create_engine(
        re.sub(r"/[^/]*$", "/postgres", database_url), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield re.sub(r"/[^/]*$", f"/{name}", database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fill_0003(engine) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO practice_staff_user (id, email, name, role, password_hash, active, "
                "created_at) VALUES (1, 'maya@example.org', 'Maya', 'therapist', 'x', true, "
                "'2029-12-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO practice_therapist (id, user_id, slug, display_name, credentials, "
                "bio, timezone, consultation_minutes, buffer_before_minutes, "
                "buffer_after_minutes, minimum_notice_hours, horizon_days, accepting_new_clients)"
                " VALUES (1, 1, 'maya', 'Maya', '', '', 'UTC', 30, 0, 0, 0, 28, true)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO practice_consultation (id, public_id, therapist_id, starts_at, "
                "ends_at, blocked_start, blocked_end, status, client_name, client_email, "
                "client_phone, client_timezone, kind, partner_name, partner_email, note, "
                "idempotency_key, manage_nonce, calendar_sequence, created_at, updated_at) "
                "VALUES (1, 'c1', 1, '2030-01-07 09:00:00', '2030-01-07 09:30:00', "
                "'2030-01-07 09:00:00', '2030-01-07 09:30:00', 'booked', 'Jordan Lee', "
                "'jordan@example.com', '', 'UTC', 'individual', '', '', :note, 'k1', 'n1', 0, "
                "'2029-12-01 10:00:00', '2029-12-01 10:00:00')"
            ),
            {"note": CLIENT["note"]},
        )
        conn.execute(
            text(
                "INSERT INTO practice_intake (id, public_id, link_nonce, consultation_id, "
                "respondent, respondent_name, form_id, form_version, status, created_at, "
                "updated_at, result, queue_level, urgent, safety_unanswered, clinician_note) "
                "VALUES (1, 'i1', 'n', 1, 'client', 'Jordan Lee', 'relationship-intake', 1, "
                "'submitted', '2029-12-01 10:00:00', '2029-12-01 10:00:00', "
                """'{"level": "high"}', 'high', false, false, :note)"""
            ),
            {"note": NOTE},
        )
        conn.execute(
            text(
                "INSERT INTO practice_intake_answer (intake_id, item_id, value) "
                "VALUES (1, 'what_brings_you', :v), (1, 'other_focus_1', '5')"
            ),
            {"v": WORRY},
        )
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO practice_audit_event (at, actor_id, action, subject_type, "
                    f"subject_id) VALUES ('2029-12-0{n + 2} 10:00:00', 1, 'intake.view', "
                    "'intake', 'i1')"
                )
            )


def _check_upgraded(app) -> None:  # noqa: ANN001
    with app.app_context():
        session = get_session()
        intake = session.get(Intake, 1)
        assert intake.result == {"level": "high"} and intake.clinician_note == NOTE
        assert intake.answer_map() == {"what_brings_you": WORRY, "other_focus_1": "5"}
        assert session.get(Consultation, 1).note == CLIENT["note"]
        assert len(session.get(Intake, 1).answers) == 2  # the JSON->TEXT change kept them
    with app.extensions["practice"].engine.connect() as conn:
        chain = verify(conn)
    assert chain.ok and chain.rows == 3


def test_0004_upgrades_0003_data_encrypting_it_with_the_apps_keys(empty_url, tmp_path):
    engine = make_engine(empty_url)
    upgrade(engine, "0003")
    _fill_0003(engine)
    engine.dispose()
    app = create_app(
        {"TESTING": True, "PRACTICE_DATABASE_URL": empty_url, "PRACTICE_DATA_KEYS": [DATA_KEY]}
    )
    result = app.test_cli_runner().invoke(args=["practice", "init-db"])
    assert result.exit_code == 0 and "upgraded" in result.output, result.output
    stored = raw(app, "SELECT value FROM practice_intake_answer") + raw(
        app, "SELECT result, clinician_note FROM practice_intake"
    )
    assert all(is_token(v) for row in stored for v in row)
    _check_upgraded(app)
    app.extensions["practice"].engine.dispose()


def test_0004_without_the_app_leaves_0003_data_readable_until_rotate_keys(empty_url, caplog):
    engine = make_engine(empty_url)
    upgrade(engine, "0003")
    _fill_0003(engine)
    upgrade(engine)  # a bare engine: no app, no keys
    engine.dispose()
    assert "practice rotate-keys" in caplog.text
    app = create_app(
        {"TESTING": True, "PRACTICE_DATABASE_URL": empty_url, "PRACTICE_DATA_KEYS": [DATA_KEY]}
    )
    assert (
        raw(app, "SELECT value FROM practice_intake_answer WHERE item_id = 'what_brings_you'")[0][0]
        == WORRY
    )
    _check_upgraded(app)
    result = app.test_cli_runner().invoke(args=["practice", "rotate-keys"])
    assert "Re-encrypted 5 values" in result.output, result.output
    assert not any(WORRY in v for (v,) in raw(app, "SELECT value FROM practice_intake_answer"))
    _check_upgraded(app)
    app.extensions["practice"].engine.dispose()


# --- the audit chain --------------------------------------------------------------------------


def _append(app, n: int, actor_id=None) -> list[int]:  # noqa: ANN001
    ids = []
    with app.app_context():
        session = get_session()
        start = app.config["PRACTICE_CLOCK"]()
        for i in range(n):
            event = record(
                session,
                actor_id=actor_id,
                action="intake.view",
                subject_type="intake",
                subject_id=f"intake-{i}",
                at=start + timedelta(seconds=i, microseconds=123),
            )
            ids.append(event.id)
        session.commit()
    return ids


@contextmanager
def triggers_dropped(engine):  # noqa: ANN001, ANN201
    """The table owner going around the append-only triggers; they are back afterwards (the
    PostgreSQL test database is shared by the whole run)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER {PG_TRIGGER} ON practice_audit_event"))
        else:
            conn.execute(text("DROP TRIGGER practice_audit_event_no_update"))
            conn.execute(text("DROP TRIGGER practice_audit_event_no_delete"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text(
                        f"CREATE TRIGGER {PG_TRIGGER} BEFORE UPDATE OR DELETE ON "
                        "practice_audit_event FOR EACH ROW "
                        "EXECUTE FUNCTION practice_audit_event_refuse()"
                    )
                )
            else:
                for verb in ("update", "delete"):
                    conn.execute(
                        text(
                            f"CREATE TRIGGER practice_audit_event_no_{verb} BEFORE "
                            f"{verb.upper()} ON practice_audit_event "
                            "BEGIN SELECT RAISE(ABORT, 'practice_audit_event is append-only'); END"
                        )
                    )


def test_the_audit_log_refuses_updates_and_deletes(app):
    ids = _append(app, 2)
    engine = app.extensions["practice"].engine
    for sql in (
        f"UPDATE practice_audit_event SET subject_id = 'other' WHERE id = {ids[0]}",
        f"DELETE FROM practice_audit_event WHERE id = {ids[1]}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert verify(conn).ok and verify(conn).rows == 2


def test_audit_verify_finds_exactly_the_altered_row(app, runner):
    ids = _append(app, 6)
    ok = runner.invoke(args=["practice", "audit", "verify"])
    assert ok.exit_code == 0 and "intact: 6 rows" in ok.output, ok.output
    engine = app.extensions["practice"].engine
    with triggers_dropped(engine), engine.begin() as conn:
        conn.execute(
            text("UPDATE practice_audit_event SET subject_id = 'someone-else' WHERE id = :id"),
            {"id": ids[3]},
        )
    with engine.connect() as conn:
        result = verify(conn)
    assert [b.id for b in result.breaks] == [ids[3]]
    assert "content does not match" in result.breaks[0].reason
    bad = runner.invoke(args=["practice", "audit", "verify"])
    assert bad.exit_code == 1
    assert f"row {ids[3]}: its content" in bad.output and "tampered" in bad.output


def test_audit_verify_finds_a_removed_row(app):
    ids = _append(app, 5)
    engine = app.extensions["practice"].engine
    with triggers_dropped(engine), engine.begin() as conn:
        conn.execute(text("DELETE FROM practice_audit_event WHERE id = :id"), {"id": ids[2]})
    with engine.connect() as conn:
        result = verify(conn)
    assert [(b.id, b.reason) for b in result.breaks] == [
        (ids[3], "does not follow the row before it")
    ]


def test_concurrent_appends_keep_one_unbroken_chain(app):
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _append(app, 8)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.extensions["practice"].engine.connect() as conn:
        result = verify(conn)
    assert result.ok and result.rows == 48


# --- erasure ----------------------------------------------------------------------------------


def _every_text_value(app) -> list[str]:  # noqa: ANN001
    """Every string in every column of every practice_ table, decrypted where encrypted."""
    engine = app.extensions["practice"].engine
    found: list[str] = []
    tables = [t for t in inspect(engine).get_table_names() if t.startswith("practice_")]
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                found += [v for v in row if isinstance(v, str)]
    with app.app_context():
        session = get_session()
        found += [a.value for a in session.scalars(select(IntakeAnswer))]
        for intake in session.scalars(select(Intake)).unique():
            found += [intake.clinician_note, repr(intake.result)]
        found += [c.note for c in session.scalars(select(Consultation)).unique()]
    return found


JORDAN = ("Jordan", "jordan@example.com", "Sam Rivera", "sam@example.com", "555 0100")


def _admin(app) -> int:  # noqa: ANN001
    with app.app_context():
        session = get_session()
        admin = create_staff_user(session, "ada@example.org", "Ada Admin", "admin", PASSWORD)
        session.commit()
        return admin.id


def test_an_admin_erases_a_client_everywhere_and_only_an_audit_line_remains(
    app, client, runner, maya, mail_dir, auth
):
    public_id = couple_with_intakes(app, client, runner, mail_dir)
    riley = {"name": "Riley Stone", "email": "riley@example.com", "phone": "+1 555 0199"}
    book(app.test_client(), "maya-chen", MONDAY_11, **riley, note="Work stress.")
    deliver(runner)
    before = " ".join(_every_text_value(app))
    assert all(s in before for s in (*JORDAN, WORRY, PARTNER_WORRY, NOTE, CLIENT["note"]))
    assert any("jordan@example.com" in str(m["To"]) for m in read_eml(mail_dir))
    with app.app_context():
        session = get_session()
        record(
            session,
            actor_id=None,
            action="intake.view",
            subject_type="intake",
            subject_id=public_id,
            at=app.config["PRACTICE_CLOCK"](),
        )
        session.commit()
    admin_id = _admin(app)

    auth.login("maya@example.org")  # a therapist may not erase
    assert client.get("/staff/privacy/erase").status_code == 403
    auth.logout()
    auth.login("ada@example.org")
    page = client.get("/staff/privacy/erase")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    found = client.post(
        "/staff/privacy/erase",
        data={"email": "Jordan@Example.com ", "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "Erase permanently" in html and "Client" in html
    token = csrf_from(html.split("/staff/privacy/erase/confirm")[1])
    forged = client.post("/staff/privacy/erase/confirm", data={"email": "jordan@example.com"})
    assert forged.status_code == 302
    assert "jordan@example.com" in " ".join(_every_text_value(app))  # nothing happened
    done = client.post(
        "/staff/privacy/erase/confirm",
        data={"email": "jordan@example.com", "csrf_token": token},
        follow_redirects=True,
    )
    message = done.get_data(as_text=True)
    assert "Erased 1 consultation(s), 2 intake(s)" in message

    after = " ".join(_every_text_value(app))
    for secret in (*JORDAN, "Lee", WORRY, PARTNER_WORRY, NOTE, CLIENT["note"]):
        assert secret not in after, secret
    assert "Riley Stone" in after and "riley@example.com" in after  # others untouched
    assert all("jordan@example.com" not in str(m["To"]) for m in read_eml(mail_dir))
    assert any("riley@example.com" in str(m["To"]) for m in read_eml(mail_dir))
    with app.app_context():
        session = get_session()
        jordan = session.scalars(select(Consultation).where(Consultation.status == "cancelled"))
        assert jordan.one().client_name == "Erased client"  # the row stays, anonymous
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        erasure = events[-1]
        assert (erasure.actor_id, erasure.action, erasure.subject_type) == (
            admin_id,
            "client.erase",
            "erasure",
        )
        assert re.fullmatch(r"[0-9a-f-]{36}", erasure.subject_id)
        assert erasure.subject_id in message
    with app.extensions["practice"].engine.connect() as conn:
        assert verify(conn).ok  # erasure never touches the audit log's earlier rows
    # The freed slot can be booked again.
    assert book(app.test_client(), "maya-chen", MONDAY_9).status_code == 303


def test_erase_client_command_asks_then_erases_a_partner_only(app, client, runner, maya, mail_dir):
    couple_with_intakes(app, client, runner, mail_dir)
    nobody = runner.invoke(args=["practice", "erase-client", "nobody@example.com", "--yes"])
    assert nobody.exit_code == 1 and "No consultation" in nobody.output
    declined = runner.invoke(args=["practice", "erase-client", "sam@example.com"], input="n\n")
    assert declined.exit_code == 1 and "Sam Rivera" in " ".join(_every_text_value(app))
    result = runner.invoke(args=["practice", "erase-client", "sam@example.com", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Erased: 1 consultation(s), 1 intake(s)" in result.output
    after = " ".join(_every_text_value(app))
    for secret in ("Sam Rivera", "sam@example.com", PARTNER_WORRY):
        assert secret not in after
    # The client who booked keeps their consultation, intake and answers.
    for kept in ("Jordan Lee", "jordan@example.com", WORRY, NOTE):
        assert kept in after
    with app.app_context():
        consultation = get_session().scalars(select(Consultation)).one()
        assert consultation.status == "booked" and consultation.partner_name == "Erased partner"
        last = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.actor_id, last.action) == (None, "client.erase")
