"""The owner's analytics store the figures of closed days (analytics_days), so a 30-day view
aggregates only the days that can still change.

Revision ID: gateway_0007
Revises: gateway_0006
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0007"
down_revision = "gateway_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_days",
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("sla_seconds", sa.Float(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("upto_suggestion", sa.Integer(), nullable=False),
        sa.Column("upto_message", sa.Integer(), nullable=False),
        sa.Column("upto_handoff", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("zone", "sla_seconds", "day"),
    )


def downgrade() -> None:
    op.drop_table("analytics_days")
