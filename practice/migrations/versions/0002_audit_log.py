"""audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Who opened which intake, or printed which personalised worksheet, and when; never content.
"""

import sqlalchemy as sa
from alembic import op

import practice.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practice_audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", practice.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["practice_staff_user.id"],
            name=op.f("fk_practice_audit_event_actor_id_practice_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_audit_event")),
    )
    op.create_index(
        "ix_practice_audit_event_subject", "practice_audit_event", ["subject_type", "subject_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_practice_audit_event_subject", table_name="practice_audit_event")
    op.drop_table("practice_audit_event")
