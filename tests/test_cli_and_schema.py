"""The `practice` command and the migrations it runs."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from practice.auth.models import StaffUser
from practice.booking.models import Consultation, Therapist
from practice.db import get_session, make_engine
from practice.migrate import current_revision, head_revision, upgrade
from practice.models import Base


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:

        def ours(obj, name, type_, *args):  # noqa: ANN001, ANN002, ANN202
            # Our tables, minus Alembic's own version table (it is not a model).
            if type_ != "table":
                return True
            return name.startswith("practice_") and name != "practice_alembic_version"

        context = MigrationContext.configure(conn, opts={"include_object": ours})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_init_db_creates_then_reports_up_to_date(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    env = {
        **os.environ,
        "PRACTICE_DATABASE_URL": url,
        "PRACTICE_INSTANCE_PATH": str(tmp_path / "inst"),
    }
    first = subprocess.run(
        [sys.executable, "-m", "practice", "init-db"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Database created" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "practice", "init-db"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "up to date" in second.stdout


def test_create_user_reads_the_password_from_stdin_never_an_argument(app, runner):
    result = runner.invoke(
        args=[
            "practice",
            "create-user",
            "lee@example.org",
            "--name",
            "Lee Park",
            "--role",
            "therapist",
            "--timezone",
            "Europe/Berlin",
        ],
        input="a sufficiently long password\n",
    )
    assert result.exit_code == 0, result.output
    short = runner.invoke(
        args=["practice", "create-user", "kim@example.org", "--name", "Kim", "--role", "admin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    with app.app_context():
        user = (
            get_session()
            .scalars(select(StaffUser).where(StaffUser.email == "lee@example.org"))
            .one()
        )
        assert user.check_password("a sufficiently long password")
        assert "a sufficiently long password" not in user.password_hash
        assert get_session().scalars(select(Therapist.timezone)).one() == "Europe/Berlin"
        assert (
            get_session()
            .scalars(select(StaffUser).where(StaffUser.email == "kim@example.org"))
            .first()
            is None
        )


def test_seed_demo_makes_three_therapists_in_three_zones_with_bookings(app, runner):
    result = runner.invoke(args=["practice", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin@example.org" in result.output
    with app.app_context():
        therapists = get_session().scalars(select(Therapist)).unique().all()
        assert len({t.timezone for t in therapists}) == 3
        assert all(t.windows for t in therapists)
        assert len(get_session().scalars(select(Consultation)).all()) == 3
        # The demo's queue has something to show: a couple in the pursue-withdraw cycle.
        from practice.intake.models import Intake
        from practice.intake.service import pursue_withdraw_between

        intakes = get_session().scalars(select(Intake)).unique().all()
        by_name = {i.respondent_name: i for i in intakes}
        assert by_name["Alex Rivera"].submitted and by_name["Sam Rivera"].submitted
        assert pursue_withdraw_between(by_name["Alex Rivera"], by_name["Sam Rivera"])
        assert not by_name["Priya Nair"].submitted
    again = runner.invoke(args=["practice", "seed-demo"])
    assert "already there" in again.output


def test_upgrade_is_idempotent(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
