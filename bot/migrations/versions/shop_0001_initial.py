"""The shop's tables as the code before these migrations created them (create_all).

The phone-tail table appeared only at the first wrong phone tail, so a database from before the
migrations may have some of these tables, or all: each one it has is kept with its rows
(bot/migrations/baseline.py).

Revision ID: shop_0001
Revises:
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

from bot.migrations.baseline import create_table_unless_present as _create

revision = "shop_0001"
down_revision = None
branch_labels = ("shop",)
depends_on = None


def upgrade() -> None:
    _create(
        "buyers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("province", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create(
        "products",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("material", sa.Text(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("care", sa.Text(), nullable=False),
        sa.Column("fades", sa.String(16), nullable=False),
        sa.Column("quality_note", sa.Text(), nullable=False),
        sa.Column("usage_note", sa.Text(), nullable=False),
        sa.Column("image", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    _create(
        "orders",
        sa.Column("id", sa.String(19), nullable=False),
        sa.Column("buyer_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("courier", sa.String(16), nullable=True),
        sa.Column("tracking_no", sa.String(32), nullable=True),
        sa.Column("province", sa.String(32), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"]),
        indexes=[("ix_orders_buyer_id", ["buyer_id"])],
    )
    _create(
        "price_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(16), nullable=False),
        sa.Column("price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
    )
    _create(
        "skus",
        sa.Column("product_id", sa.String(16), nullable=False),
        sa.Column("color", sa.String(16), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("restock_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "color", "size"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
    )
    _create(
        "order_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(19), nullable=False),
        sa.Column("product_id", sa.String(16), nullable=False),
        sa.Column("color", sa.String(16), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        indexes=[("ix_order_items_order_id", ["order_id"])],
    )
    _create(
        "price_refunds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(19), nullable=False),
        sa.Column("buyer_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2, asdecimal=False), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        indexes=[("ix_price_refunds_order_id", ["order_id"])],
    )
    _create(
        "return_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(19), nullable=False),
        sa.Column("buyer_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("postage_payer", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        indexes=[("ix_return_requests_buyer_id", ["buyer_id"]), ("ix_return_requests_order_id", ["order_id"])],
    )
    _create(
        "tracking_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(19), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        indexes=[("ix_tracking_events_order_id", ["order_id"])],
    )
    _create(
        "phone_tail_failures",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )


def downgrade() -> None:
    for name in (
        "phone_tail_failures", "tracking_events", "return_requests", "price_refunds", "order_items", "skus",
        "price_history", "orders", "products", "buyers",
    ):
        op.drop_table(name)
