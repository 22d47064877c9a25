"""The owner's analytics: every handoff to a human kept (review_handoffs), and indexes that start
with the time for the date-range aggregates on the messages and the review queue.

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0004"
down_revision = "gateway_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_handoffs_created_at", "review_handoffs", ["created_at"], unique=False)
    op.create_index("ix_gateway_messages_role_created_at", "gateway_messages", ["role", "created_at", "session_id"], unique=False)
    op.create_index(
        "ix_review_suggestions_created_at",
        "review_suggestions",
        ["created_at", "status", "intent", "confidence", "handled_at", "reason"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_review_suggestions_created_at", table_name="review_suggestions")
    op.drop_index("ix_gateway_messages_role_created_at", table_name="gateway_messages")
    op.drop_index("ix_review_handoffs_created_at", table_name="review_handoffs")
    op.drop_table("review_handoffs")
