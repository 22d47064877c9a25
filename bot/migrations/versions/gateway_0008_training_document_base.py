"""A trainer's stored document keeps the shipped text it was edited from (training_documents.base_text),
so a newer release's file is merged with the trainer's edits instead of hidden by them.

Revision ID: gateway_0008
Revises: gateway_0007
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0008"
down_revision = "gateway_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_documents") as batch:
        batch.add_column(sa.Column("base_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_documents") as batch:
        batch.drop_column("base_text")
