"""Labels: each submitted paper's class as its submitter gave it, per job item.

``job_items.label`` is the model's class index (0 or 1, shared.manifest.CLASS_NAMES), or
NULL when the row carried no label. It lives on the job item, not the paper: the same text
may be labelled differently in two submissions.

Revision ID: c4d2a7e9f310
Revises: 9b3e4f1c2a57
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d2a7e9f310"
down_revision: str | Sequence[str] | None = "9b3e4f1c2a57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.add_column(sa.Column("label", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.drop_column("label")
