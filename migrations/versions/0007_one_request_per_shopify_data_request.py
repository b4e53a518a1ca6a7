"""One privacy request per Shopify data request: a unique index on (shop_id, shopify_request_id) for that kind.

Two processes receiving the same ``customers/data_request`` under two webhook ids at once each found no
request and created one. Now the second waits on this index and, once the first commits, its intake tries
again and links its delivery to the first one's request (``services/webhook_intake.py``).

Built ``CONCURRENTLY`` on PostgreSQL, so the intake keeps storing deliveries while it is built. It fails if
duplicates were stored before; ``SELECT shop_id, shopify_request_id, count(*) FROM privacy_requests WHERE
kind = 'data_request' GROUP BY 1, 2 HAVING count(*) > 1`` lists them, to close all but the oldest and clear
their ``shopify_request_id`` by hand. A failed concurrent build leaves an invalid index behind: ``DROP INDEX
uq_privacy_requests_shop_data_request`` before running the migration again.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEX = "uq_privacy_requests_shop_data_request"
PREDICATE = sa.text("kind = 'data_request'")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(INDEX, "privacy_requests", ["shop_id", "shopify_request_id"], unique=True,
                        postgresql_where=PREDICATE, sqlite_where=PREDICATE, postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="privacy_requests", postgresql_concurrently=True)
