"""Heat map scale: each user's remembered colour scale for result pages.

``users.heatmap_scale`` is one of shared.scales.SCALES, or NULL for the default; the pages
read an unknown value as the default, so a scale can be added without a migration.

Revision ID: 9b3e4f1c2a57
Revises: b3f1c0d2e4a6
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b3e4f1c2a57"
down_revision: str | Sequence[str] | None = "b3f1c0d2e4a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("heatmap_scale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("heatmap_scale")
