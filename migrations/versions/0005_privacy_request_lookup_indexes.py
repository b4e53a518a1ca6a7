"""Indexes for finding a repeated request at intake (by customer, by Shopify's data request id).

Without them each delivery scanned every request of its shop (bench/README.md).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_privacy_requests_shop_customer", "privacy_requests", ["shop_id", "customer_id"])
    op.create_index("ix_privacy_requests_shop_shopify_request", "privacy_requests", ["shop_id", "shopify_request_id"])


def downgrade() -> None:
    op.drop_index("ix_privacy_requests_shop_shopify_request", table_name="privacy_requests")
    op.drop_index("ix_privacy_requests_shop_customer", table_name="privacy_requests")
