"""Labels: each submitted paper's class as its submitter gave it, per job item.

``job_items.label`` is the model's class index (0 or 1, shared.manifest.CLASS_NAMES), or
NULL when the row carried no label. It lives on the job item, not the paper: the same text
may be labelled differently in two submissions.

Revision ID: e7b19c3d5a20
Revises: c4d2a7e9f310
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7b19c3d5a20"
down_revision: str | Sequence[str] | None = "c4d2a7e9f310"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.add_column(sa.Column("label", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.drop_column("label")
