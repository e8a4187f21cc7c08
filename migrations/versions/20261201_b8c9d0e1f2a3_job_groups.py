"""Jobs submitted together under several models: ``jobs.group_id`` (the first job's id).

Revision ID: b8c9d0e1f2a3
Revises: b1c2d3e4f5a6
Create Date: 2026-12-01 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8c9d0e1f2a3"
down_revision: str | Sequence[str] | None = "b1c2d3e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_group_id_jobs", "jobs", ["group_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_jobs_group_id", ["group_id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_group_id")
        batch.drop_constraint("fk_jobs_group_id_jobs", type_="foreignkey")
        batch.drop_column("group_id")
