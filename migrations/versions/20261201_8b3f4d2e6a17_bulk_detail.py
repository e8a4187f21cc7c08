"""The bulk profile: a job's detail, and when a result's per-token traces were asked for.

``jobs.detail`` is ``bulk`` (grid, leave-one-out and the features' contributions: what a
worker stores by default) or ``full`` (the per-token traces and P as the model reads too).
``results.traces_requested_at`` is set when the web first sends the task that computes a
bulk result's traces, so a page viewed many times sends it once (again only if it is lost).

Revision ID: 8b3f4d2e6a17
Revises: 7c41d2e8a913
Create Date: 2026-12-01 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3f4d2e6a17"
down_revision: str | Sequence[str] | None = "7c41d2e8a913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("detail", sa.String(length=10), nullable=False, server_default="bulk")
        )
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("traces_requested_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("traces_requested_at")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("detail")
