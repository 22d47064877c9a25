"""The event stream's table: every conversation event Rasa publishes to RabbitMQ, stored once by
`python -m bot events` (bot/events), for analytics.

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0002"
down_revision = "gateway_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.Float(precision=53), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("action_name", sa.String(128), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "timestamp", "type", "event_hash", name="uq_conversation_event"),
    )
    op.create_index("ix_conversation_events_at", "conversation_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_conversation_events_at", table_name="conversation_events")
    op.drop_table("conversation_events")
