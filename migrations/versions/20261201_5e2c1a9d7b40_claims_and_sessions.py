"""Claims, heartbeats, grid sizes, sent jobs and revocable sessions.

``results.claimed_by`` names the delivery (Celery task id) that claimed a running result,
so that delivery's own redelivery or retry takes it back at once; ``results.heartbeat_at``
is refreshed by the live worker while it computes, so a result whose worker died is found
in seconds, not after the visibility timeout; ``results.cells`` is the size of its grid,
known at submission, by which chunks are sized. ``jobs.sent_at`` is set once every chunk of a
job has been published: a job without it (the broker hung or the web died between commit
and publish) is sent by the reaper, ``occlab requeue`` or a resubmission at once.
``users.session_token`` is what a login cookie carries; logout, a password change and "log
out everywhere" replace it, so cookies captured before stop working.

Revision ID: 5e2c1a9d7b40
Revises: 6153ae02bd6c
Create Date: 2026-12-01 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e2c1a9d7b40"
down_revision: str | Sequence[str] | None = "6153ae02bd6c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("cells", sa.Integer(), nullable=True))
        batch.create_index("ix_results_status_heartbeat", ["status", "heartbeat_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    # Jobs that exist were sent when they were made (or failed trying, and say so).
    op.execute("UPDATE jobs SET sent_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_token")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("sent_at")
    with op.batch_alter_table("results") as batch:
        batch.drop_index("ix_results_status_heartbeat")
        batch.drop_column("cells")
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_by")
