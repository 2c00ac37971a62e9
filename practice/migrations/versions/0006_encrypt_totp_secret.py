"""encrypt the staff TOTP secret

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

A TOTP secret lets whoever holds it mint that person's sign-in codes, so it is kept like intake
answers: a Fernet token (TEXT) under PRACTICE_DATA_KEYS. Secrets already stored are encrypted
here when the app's keys are at hand (`practice init-db`), otherwise by `practice rotate-keys`.
"""

import logging

import sqlalchemy as sa
from alembic import op

from practice.crypto import app_cipher_or_none, reencrypt_all

TOTP = (("practice_staff_user", ("id",), "totp_secret"),)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("practice.migrations")


def upgrade() -> None:
    with op.batch_alter_table("practice_staff_user") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.Text(), nullable=True
        )
    bind = op.get_bind()
    cipher = app_cipher_or_none()
    if cipher is not None:
        reencrypt_all(bind, cipher, columns=TOTP)
    elif bind.execute(
        sa.text("SELECT 1 FROM practice_staff_user WHERE totp_secret IS NOT NULL LIMIT 1")
    ).first():
        log.warning("TOTP secrets stay plaintext until `practice rotate-keys` runs")


def downgrade() -> None:
    # Secrets must be decrypted first (decrypt_all) for a String(64) column to hold them.
    with op.batch_alter_table("practice_staff_user") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.Text(), type_=sa.String(length=64), nullable=True
        )
