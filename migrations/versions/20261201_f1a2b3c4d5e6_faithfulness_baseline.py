"""The corpus view's random baseline of faithfulness, per job.

``jobs.baseline`` holds the AOPC of random rankings over a sample of the job's papers
(computed by a worker when the finished job's corpus view is first opened) and
``jobs.baseline_requested_at`` when it was asked for (asked again if lost).

Revision ID: f1a2b3c4d5e6
Revises: e7b19c3d5a20
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1a2b3c4d5e6"
down_revision: str | Sequence[str] | None = "e7b19c3d5a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("baseline", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("baseline_requested_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("baseline_requested_at")
        batch.drop_column("baseline")
