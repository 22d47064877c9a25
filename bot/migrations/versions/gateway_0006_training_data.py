"""Training without a shared checkout: the trainer's edits of the training data are stored in the
gateway database (training_documents), a job waits as "queued" with the trainer's confirmation for
a training worker, and a model's evaluation report is stored with it.

Revision ID: gateway_0006
Revises: gateway_0005
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0006"
down_revision = "gateway_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_documents",
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )
    with op.batch_alter_table("training_jobs") as batch:
        batch.add_column(sa.Column("confirm_worse", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("trained_models") as batch:
        batch.add_column(sa.Column("report", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.drop_column("report")
    with op.batch_alter_table("training_jobs") as batch:
        batch.drop_column("confirm_worse")
    op.drop_table("training_documents")
