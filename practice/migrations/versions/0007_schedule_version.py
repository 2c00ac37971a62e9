"""a version number on each therapist's schedule

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

The public slot page is the busiest page a practice has. Its content depends only on the
therapist's row, their weekly windows, their days off and the time their consultations hold.
Triggers bump `practice_therapist.schedule_version` in the same transaction as any change to the
last three, on every server and from any writer (the app, the CLI, a hand-run SQL fix), so a page
rendered for one version can be reused until the number moves, with one small read to check it.

On PostgreSQL the trigger updates the therapist's row, which a booking already holds FOR UPDATE;
writers that change a consultation take that row lock first (see booking.service), so the row
is always locked in the same order and no two writers deadlock on it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("practice_consultation", "practice_availability_window", "practice_time_off")

# Only the columns that decide what time a consultation holds: reminders, outcomes and erasure
# touch other columns and must not throw every visitor's page away.
CONSULTATION_CHANGED = (
    "OLD.therapist_id IS DISTINCT FROM NEW.therapist_id"
    " OR OLD.blocked_start IS DISTINCT FROM NEW.blocked_start"
    " OR OLD.blocked_end IS DISTINCT FROM NEW.blocked_end"
    " OR (OLD.status = 'cancelled') IS DISTINCT FROM (NEW.status = 'cancelled')"
)

BUMP = "UPDATE practice_therapist SET schedule_version = schedule_version + 1 WHERE id"

PG_FUNCTION = f"""
CREATE FUNCTION practice_bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {BUMP} = OLD.therapist_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {BUMP} = NEW.therapist_id;
    ELSIF TG_OP = 'UPDATE' AND NEW.therapist_id IS DISTINCT FROM OLD.therapist_id THEN
        {BUMP} = NEW.therapist_id;
    END IF;
    RETURN NULL;
END
$$
"""


def _sqlite_trigger(table: str, event: str) -> str:
    rows = {"INSERT": "NEW.therapist_id", "DELETE": "OLD.therapist_id"}.get(
        event, "OLD.therapist_id, NEW.therapist_id"
    )
    when = ""
    if table == "practice_consultation" and event == "UPDATE":
        when = "WHEN " + CONSULTATION_CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    return (
        f"CREATE TRIGGER {table}_schedule_{event.lower()} AFTER {event} ON {table} {when} "
        f"BEGIN {BUMP} IN ({rows}); END"
    )


def upgrade() -> None:
    # A plain ADD COLUMN: a batch (copy-and-swap) table on SQLite would drop its triggers.
    op.add_column(
        "practice_therapist",
        sa.Column("schedule_version", sa.Integer(), server_default="0", nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            when = f"WHEN ({CONSULTATION_CHANGED})" if table == "practice_consultation" else ""
            op.execute(
                f"CREATE TRIGGER {table}_schedule_insert_delete AFTER INSERT OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION practice_bump_schedule_version()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_schedule_update AFTER UPDATE ON {table} "
                f"FOR EACH ROW {when} EXECUTE FUNCTION practice_bump_schedule_version()"
            )
    elif dialect == "sqlite":
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(_sqlite_trigger(table, event))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_schedule_insert_delete ON {table}")
            op.execute(f"DROP TRIGGER {table}_schedule_update ON {table}")
        op.execute("DROP FUNCTION practice_bump_schedule_version()")
    elif dialect == "sqlite":
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_schedule_{event}")
    with op.batch_alter_table("practice_therapist") as batch:
        batch.drop_column("schedule_version")
