"""storefront privacy requests, retention scans and batch erasures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storefront_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("privacy_request_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("right", sa.String(length=32), nullable=False),
        sa.Column("marketing_channel", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("handling_note", sa.Text(), nullable=True),
        sa.Column("path_prefix", sa.String(length=64), nullable=False),
        sa.Column("customer_ref", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("extended_months", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("report_delivery", sa.String(length=16), nullable=True),
        sa.Column("report_token_hash", sa.String(length=64), nullable=True),
        sa.Column("report_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("report_link_sent_at", sa.DateTime(), nullable=True),
        sa.Column("report_downloads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["privacy_request_id"], ["privacy_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("privacy_request_id"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("report_token_hash"),
    )
    op.create_index("ix_storefront_requests_status_created", "storefront_requests", ["status", "created_at"])
    op.create_index("ix_storefront_requests_shop_customer_ref", "storefront_requests", ["shop_id", "customer_ref"])

    op.create_table(
        "retention_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("customers_due", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_scans_shop_started", "retention_scans", ["shop_id", "started_at"])

    op.create_table(
        "retention_erasure_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_erasure_batches_shop_id", "retention_erasure_batches", ["shop_id"])

    op.create_table(
        "retention_due_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("shopify_created_at", sa.DateTime(), nullable=True),
        sa.Column("shopify_updated_at", sa.DateTime(), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("erasure_requested_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["batch_id"], ["retention_erasure_batches.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "customer_id"),
    )
    op.create_index("ix_retention_due_customers_batch", "retention_due_customers", ["batch_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_retention_due_customers_batch", table_name="retention_due_customers")
    op.drop_table("retention_due_customers")
    op.drop_index("ix_retention_erasure_batches_shop_id", table_name="retention_erasure_batches")
    op.drop_table("retention_erasure_batches")
    op.drop_index("ix_retention_scans_shop_started", table_name="retention_scans")
    op.drop_table("retention_scans")
    op.drop_index("ix_storefront_requests_shop_customer_ref", table_name="storefront_requests")
    op.drop_index("ix_storefront_requests_status_created", table_name="storefront_requests")
    op.drop_table("storefront_requests")
