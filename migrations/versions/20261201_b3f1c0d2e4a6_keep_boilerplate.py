"""Keep boilerplate: a job may explain placeholders and publisher lines as units.

``jobs.keep_boilerplate`` is the job's choice and ``results.keep_boilerplate`` the choice a
result was computed under; it joins the results' unique key, since the same paper with and
without its publisher line has different units. Results made before were cut from the
whole text, so they are marked True (kept): a new job, which leaves boilerplate out by
default, computes its own instead of reusing them. The key is named by hand: the
convention's name would pass PostgreSQL's 63-character limit.

Revision ID: b3f1c0d2e4a6
Revises: 8b3f4d2e6a17
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3f1c0d2e4a6"
down_revision: str | Sequence[str] | None = "8b3f4d2e6a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = "uq_results_team_id_paper_id_model_id_title_unit_abstract_unit"
_NEW_KEY = "uq_results_paper_options"
_KEY = ["team_id", "paper_id", "model_id", "title_unit", "abstract_unit"]


def _flag() -> sa.Column[bool]:
    return sa.Column("keep_boilerplate", sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(_flag())
    with op.batch_alter_table("results") as batch:
        batch.add_column(_flag())
        batch.drop_constraint(_OLD_KEY, type_="unique")
        batch.create_unique_constraint(_NEW_KEY, [*_KEY, "keep_boilerplate"])
    op.execute(sa.text("UPDATE results SET keep_boilerplate = :kept").bindparams(kept=True))


def downgrade() -> None:
    # Two results that differ only in keep_boilerplate break the old key, and the
    # downgrade stops there (an IntegrityError) rather than delete a team's results.
    with op.batch_alter_table("results") as batch:
        batch.drop_constraint(_NEW_KEY, type_="unique")
        batch.create_unique_constraint(_OLD_KEY, _KEY)
        batch.drop_column("keep_boilerplate")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("keep_boilerplate")
