"""staff sessions and two-factor sign-in

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

A row per staff sign-in (only a hash of its random id), so signing out, timing out or closing an
account ends it on the server whatever cookie is replayed; and the optional TOTP second factor on
staff accounts (off for everyone until they enrol).
"""

import sqlalchemy as sa
from alembic import op

import practice.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practice_staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", practice.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", practice.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", practice.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["practice_staff_user.id"],
            name=op.f("fk_practice_staff_session_user_id_practice_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_staff_session")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_practice_staff_session_id_hash")),
    )
    op.create_index(
        op.f("ix_practice_staff_session_user_id"), "practice_staff_session", ["user_id"]
    )
    with op.batch_alter_table("practice_staff_user") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("totp_enabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practice_staff_user") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled")
        batch.drop_column("totp_secret")
    op.drop_index(op.f("ix_practice_staff_session_user_id"), table_name="practice_staff_session")
    op.drop_table("practice_staff_session")
