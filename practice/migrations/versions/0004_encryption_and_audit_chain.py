"""encryption at rest and the audit hash chain

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Clients' own words become Fernet tokens in TEXT columns (the intake's stored result too, so it
stops being JSON in the database); the audit log gains a hash chain and triggers that refuse
UPDATE and DELETE, and loses its foreign key to staff users (a deleted account must not rewrite
the log with ON DELETE SET NULL).

Existing rows are encrypted here when the migration runs inside the app (`practice init-db`, which
has the data keys). Run on a bare engine with no app, it leaves them as they are: they still read,
and `practice rotate-keys` encrypts them.
"""

import logging

import sqlalchemy as sa
from alembic import op

from practice.audit import chain
from practice.crypto import COLUMNS_0004, app_cipher_or_none, decrypt_all, reencrypt_all

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("practice.migrations")

AUDIT = "practice_audit_event"
AUDIT_FK = "fk_practice_audit_event_actor_id_practice_staff_user"
REFUSE = "practice_audit_event is append-only"


def _create_audit_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION practice_audit_event_refuse() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{REFUSE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER practice_audit_event_append_only BEFORE UPDATE OR DELETE "
            f"ON {AUDIT} FOR EACH ROW EXECUTE FUNCTION practice_audit_event_refuse()"
        )
    else:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER practice_audit_event_no_{verb} BEFORE {verb.upper()} ON {AUDIT} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END"
            )


def _drop_audit_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS practice_audit_event_append_only ON {AUDIT}")
        op.execute("DROP FUNCTION IF EXISTS practice_audit_event_refuse()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS practice_audit_event_no_{verb}")


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name

    # The stored screening result: JSON -> TEXT (a Fernet token of the JSON document).
    if dialect == "sqlite":
        # Native ALTERs: a batch rebuild would DROP practice_intake, and with foreign keys on,
        # SQLite's implicit DELETE would cascade to every answer.
        op.execute("ALTER TABLE practice_intake ADD COLUMN result_text TEXT")
        op.execute("UPDATE practice_intake SET result_text = result")
        op.execute("ALTER TABLE practice_intake DROP COLUMN result")
        op.execute("ALTER TABLE practice_intake RENAME COLUMN result_text TO result")
    else:
        op.alter_column(
            "practice_intake",
            "result",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=True,
            postgresql_using="result::text",
        )

    cipher = app_cipher_or_none()
    if cipher is not None:
        reencrypt_all(bind, cipher, columns=COLUMNS_0004)
    elif any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()
        for table in ("practice_consultation", "practice_intake")
    ):
        log.warning(
            "migration 0004 ran without the app's data keys: existing rows stay plaintext "
            "until `practice rotate-keys` runs"
        )

    # The audit chain. Nothing references the audit table, so rebuilding it on SQLite is safe.
    with op.batch_alter_table(AUDIT) as batch:
        batch.drop_constraint(AUDIT_FK, type_="foreignkey")
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    chain.chain_existing(bind)
    with op.batch_alter_table(AUDIT) as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
    _create_audit_triggers(dialect)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    cipher = app_cipher_or_none()
    if cipher is None:
        raise RuntimeError("downgrading below 0004 decrypts the data: run it inside the app")
    _drop_audit_triggers(dialect)
    with op.batch_alter_table(AUDIT) as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.create_foreign_key(
            AUDIT_FK, "practice_staff_user", ["actor_id"], ["id"], ondelete="SET NULL"
        )
    decrypt_all(bind, cipher, columns=COLUMNS_0004)
    if dialect == "sqlite":
        op.execute("ALTER TABLE practice_intake ADD COLUMN result_json JSON")
        op.execute("UPDATE practice_intake SET result_json = result")
        op.execute("ALTER TABLE practice_intake DROP COLUMN result")
        op.execute("ALTER TABLE practice_intake RENAME COLUMN result_json TO result")
    else:
        op.alter_column(
            "practice_intake",
            "result",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=True,
            postgresql_using="result::json",
        )
