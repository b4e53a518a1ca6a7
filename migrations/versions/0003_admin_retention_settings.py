"""admin: retention settings per shop

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (column, default in months): how long we keep what we store, per shop (Settings page).
RETENTION_COLUMNS = (
    ("consent_retention_months", 13),  # proofs of consent (CNIL: 13 months for the choice itself)
    ("request_retention_months", 36),  # personal fields of closed requests (3 years, French practice)
    ("audit_retention_months", 60),  # audit entries (5 years, the limitation period for civil claims)
)


def upgrade() -> None:
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        for name, default in RETENTION_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=str(default)))


def downgrade() -> None:
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        for name, _default in reversed(RETENTION_COLUMNS):
            batch_op.drop_column(name)
