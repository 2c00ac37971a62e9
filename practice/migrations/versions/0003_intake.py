"""intake

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

One intake per person per consultation, answers keyed (intake, item) so an item can never be
answered twice, and the stored screening result the review queue sorts by.
"""

import sqlalchemy as sa
from alembic import op

import practice.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practice_intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("link_nonce", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=16), nullable=False),
        sa.Column("respondent_name", sa.String(length=120), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", practice.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", practice.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", practice.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("queue_level", sa.String(length=24), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("safety_unanswered", sa.Boolean(), nullable=False),
        sa.Column("reviewed_at", practice.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("clinician_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["practice_consultation.id"],
            name=op.f("fk_practice_intake_consultation_id_practice_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["practice_staff_user.id"],
            name=op.f("fk_practice_intake_reviewed_by_id_practice_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_intake")),
        sa.UniqueConstraint(
            "consultation_id",
            "respondent",
            name=op.f("uq_practice_intake_consultation_id_respondent"),
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_practice_intake_public_id")),
    )
    op.create_index(
        op.f("ix_practice_intake_consultation_id"), "practice_intake", ["consultation_id"]
    )
    op.create_table(
        "practice_intake_answer",
        sa.Column("intake_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intake_id"],
            ["practice_intake.id"],
            name=op.f("fk_practice_intake_answer_intake_id_practice_intake"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("intake_id", "item_id", name=op.f("pk_practice_intake_answer")),
    )


def downgrade() -> None:
    op.drop_table("practice_intake_answer")
    op.drop_index(op.f("ix_practice_intake_consultation_id"), table_name="practice_intake")
    op.drop_table("practice_intake")
