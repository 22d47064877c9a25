"""Training jobs: the stage being trained, why a job failed, the timings for the next job's
estimate, the process running it and its heartbeat (a job left running by a stopped gateway is
marked failed at start-up); trained models: accuracy on real buyer messages where measured.

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = "gateway_0005"
down_revision = "gateway_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_jobs") as batch:
        batch.add_column(sa.Column("stage", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("timings", sa.Text(), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("trained_models") as batch:
        batch.add_column(sa.Column("real_accuracy", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.drop_column("real_accuracy")
    with op.batch_alter_table("training_jobs") as batch:
        for column in ("heartbeat_at", "owner", "timings", "reason", "stage"):
            batch.drop_column(column)
