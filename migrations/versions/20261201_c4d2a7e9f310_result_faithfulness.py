"""Faithfulness: each result's comprehensiveness, sufficiency, deletion curve and minimal flip.

``results.faithfulness`` holds ``{"faithfulness": {...}, "minimal_flip": {...} | null}`` as
``shared.engine.export.faithfulness_json`` writes them; NULL for results computed before it
(shown and served as null).

Revision ID: c4d2a7e9f310
Revises: 4d7a2c9e1f35
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d2a7e9f310"
down_revision: str | Sequence[str] | None = "4d7a2c9e1f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("faithfulness", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("faithfulness")
