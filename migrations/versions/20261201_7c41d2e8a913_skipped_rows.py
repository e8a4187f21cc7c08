"""Skipped rows: a job keeps the papers it could not take, with why, and counts them.

With ``on_error=skip`` (the default for files) a submission's bad rows no longer sink the
rest: each is stored in ``job_problems`` (its line or position, the field, the message) and
counted in ``jobs.rejected``, so the job page and ``problems.csv`` say what to fix.

Revision ID: 7c41d2e8a913
Revises: 5e2c1a9d7b40
Create Date: 2026-12-01 12:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c41d2e8a913"
down_revision: str | Sequence[str] | None = "5e2c1a9d7b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_problems",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_problems_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "n", name=op.f("pk_job_problems")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("rejected", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("rejected")
    op.drop_table("job_problems")
