"""Index webhook_deliveries.privacy_request_id, the one foreign key without an index.

``shop/redact`` deletes the shop's requests, and for each one PostgreSQL clears the deliveries pointing to it
(``ON DELETE SET NULL``): without this index, one sequential scan of all deliveries per request. A shop with
16,000 requests among 80,000 deliveries took over two minutes to erase (``tests/test_schema.py``).

Built ``CONCURRENTLY`` on PostgreSQL, so the intake keeps storing deliveries while it is built.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "ix_webhook_deliveries_privacy_request_id"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(INDEX, "webhook_deliveries", ["privacy_request_id"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="webhook_deliveries", postgresql_concurrently=True)
