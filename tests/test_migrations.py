"""Migrations take an empty database, and one holding the previous release's data, to the
newest schema on both SQLite and PostgreSQL, losing nothing on the way."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from conftest import BACKENDS, PG_ADMIN_URL
from sqlalchemy import create_engine, inspect, select, text

from practice import create_app
from practice.db import get_session, make_engine
from practice.migrate import current_revision, head_revision, upgrade
from practice.models import Base

# The schema our first release shipped (booking, audit, intake), before encryption at rest.
PREVIOUS_RELEASE = "0003"


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"practice_migrate_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_URL)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_an_empty_database_upgrades_to_the_newest_schema(empty_url):
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    # The guards that live in triggers, not in the models: the no-overlap rule (0001; an
    # exclusion constraint on PostgreSQL) and the schedule version (0007). A later migration
    # that rebuilds one of these tables on SQLite (batch mode) must create them again.
    assert expected_triggers(engine) <= triggers(engine)
    engine.dispose()


def triggers(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT DISTINCT trigger_name FROM information_schema.triggers"
        return set(conn.execute(text(query)).scalars())


def expected_triggers(engine) -> set[str]:  # noqa: ANN001
    tables = ("practice_consultation", "practice_availability_window", "practice_time_off")
    if engine.dialect.name == "sqlite":
        return {
            "practice_consultation_no_overlap_INSERT",
            "practice_consultation_no_overlap_UPDATE",
        } | {f"{t}_schedule_{e}" for t in tables for e in ("insert", "update", "delete")}
    return {f"{t}_schedule_{e}" for t in tables for e in ("insert_delete", "update")}


def _seed_previous_release(conn) -> None:  # noqa: ANN001
    now = datetime(2030, 1, 1, 9, tzinfo=UTC).replace(tzinfo=None)
    conn.execute(
        text(
            "INSERT INTO practice_staff_user (id, email, name, role, password_hash, active, "
            "created_at) VALUES (1, 'maya@example.org', 'Maya Chen', 'therapist', 'x', :t, :now)"
        ),
        {"t": True, "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO practice_therapist (id, user_id, slug, display_name, credentials, bio, "
            "timezone, consultation_minutes, buffer_before_minutes, buffer_after_minutes, "
            "minimum_notice_hours, horizon_days, accepting_new_clients) VALUES "
            "(1, 1, 'maya-chen', 'Maya Chen', '', '', 'UTC', 30, 0, 0, 0, 28, :t)"
        ),
        {"t": True},
    )
    conn.execute(
        text(
            "INSERT INTO practice_consultation (id, public_id, therapist_id, starts_at, ends_at, "
            "blocked_start, blocked_end, status, client_name, client_email, client_phone, "
            "client_timezone, kind, partner_name, partner_email, note, idempotency_key, "
            "manage_nonce, calendar_sequence, created_at, updated_at) VALUES (1, "
            "'00000000-0000-4000-8000-000000000001', 1, :start, :end, :start, :end, 'booked', "
            "'Jordan Lee', 'jordan@example.com', '', 'UTC', 'individual', '', '', "
            "'I keep putting everyone else first.', 'k1', 'n1', 0, :now, :now)"
        ),
        {"start": datetime(2030, 1, 7, 9), "end": datetime(2030, 1, 7, 9, 30), "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO practice_intake (id, public_id, link_nonce, consultation_id, respondent, "
            "respondent_name, form_id, form_version, status, created_at, updated_at, submitted_at, "
            "result, queue_level, urgent, safety_unanswered, clinician_note) VALUES (1, "
            "'00000000-0000-4000-8000-0000000000a1', 'n', 1, 'client', 'Jordan Lee', "
            "'relationship-intake', 1, 'submitted', :now, :now, :now, :result, 'high', :f, :f, "
            "'Explore caretaking.')"
        ),
        {"now": now, "result": '{"flags": {"codependent": {"level": "high"}}}', "f": False},
    )
    conn.execute(
        text(
            "INSERT INTO practice_intake_answer (intake_id, item_id, value) VALUES "
            "(1, 'what_brings_you', 'Feeling stretched thin.'), (1, 'other_focus_1', '5')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO practice_audit_event (id, at, actor_id, action, subject_type, subject_id) "
            "VALUES (1, :now, 1, 'intake.view', 'intake', '00000000-0000-4000-8000-0000000000a1')"
        ),
        {"now": now},
    )


def test_the_previous_releases_data_survives_the_upgrade(empty_url, tmp_path):
    engine = make_engine(empty_url)
    upgrade(engine, PREVIOUS_RELEASE)
    with engine.begin() as conn:
        _seed_previous_release(conn)
    engine.dispose()

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "PRACTICE_DATABASE_URL": empty_url,
            "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
            "PRACTICE_RATELIMIT_ENABLED": False,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    result = app.test_cli_runner().invoke(args=["practice", "init-db"])
    assert result.exit_code == 0, result.output
    assert "upgraded" in result.output
    from practice.booking.models import Consultation
    from practice.intake.models import Intake

    with app.app_context():
        session = get_session()
        consultation = session.scalars(select(Consultation)).unique().one()
        assert consultation.client_name == "Jordan Lee"
        assert consultation.note == "I keep putting everyone else first."
        intake = session.scalars(select(Intake)).unique().one()
        assert intake.answer_map() == {
            "what_brings_you": "Feeling stretched thin.",
            "other_focus_1": "5",
        }
        assert intake.result["flags"]["codependent"]["level"] == "high"
        assert intake.clinician_note == "Explore caretaking."
        assert current_revision(app.extensions["practice"].engine) == head_revision()
    app.extensions["practice"].engine.dispose()
