"""Revisions: a job's paper may name the result it was edited from.

``job_items.revises_id`` is set by "Edit this paper" (the submit form's ``revises``). It is
on the item and not on the result: results are shared per team by content, so the same
result can be reached as an edit of several results, or submitted fresh. Deleting the
older result leaves the edit standing (SET NULL).

History's search (and the compare page's pickers) also match the papers' external ids: on
PostgreSQL a trigram index serves it as it does the title and the abstract.

Revision ID: 4d7a2c9e1f35
Revises: c4d5e6f7a8b9
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4d7a2c9e1f35"
down_revision: str | Sequence[str] | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.add_column(sa.Column("revises_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_job_items_revises_id_results", "results", ["revises_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch.create_index("ix_job_items_revises_id", ["revises_id"])
    if op.get_context().dialect.name == "postgresql":
        op.create_index(
            "ix_papers_external_id_trgm", "papers", ["external_id"],
            postgresql_using="gin", postgresql_ops={"external_id": "gin_trgm_ops"},
        )  # fmt: skip


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_papers_external_id_trgm", table_name="papers")
    with op.batch_alter_table("job_items") as batch:
        batch.drop_index("ix_job_items_revises_id")
        batch.drop_constraint("fk_job_items_revises_id_results", type_="foreignkey")
        batch.drop_column("revises_id")
