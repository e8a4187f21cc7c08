"""Ingestion: stored files (in chunks) and the jobs that read them in batches.

``stored_files`` + ``stored_file_chunks`` hold a submission's file in the database, where
every worker can read it; ``jobs.file_id`` names the file an ``ingesting`` job is reading,
``jobs.on_error`` and ``jobs.mapping`` how, and ``jobs.ingested_rows`` how far it has got.

Revision ID: c4d5e6f7a8b9
Revises: 9b3e4f1c2a57
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d5e6f7a8b9"
down_revision: str | Sequence[str] | None = "9b3e4f1c2a57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_stored_files_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("token", name=op.f("uq_stored_files_token")),
    )
    op.create_index(op.f("ix_stored_files_team_id"), "stored_files", ["team_id"])
    op.create_index(op.f("ix_stored_files_created_at"), "stored_files", ["created_at"])
    op.create_table(
        "stored_file_chunks",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_stored_file_chunks_file_id_stored_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "n", name=op.f("pk_stored_file_chunks")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("file_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("on_error", sa.String(length=10), server_default="skip", nullable=False)
        )
        batch.add_column(sa.Column("mapping", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("ingested_rows", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_foreign_key(
            op.f("fk_jobs_file_id_stored_files"),
            "stored_files",
            ["file_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("fk_jobs_file_id_stored_files"), type_="foreignkey")
        batch.drop_column("ingested_rows")
        batch.drop_column("mapping")
        batch.drop_column("on_error")
        batch.drop_column("file_id")
    op.drop_table("stored_file_chunks")
    op.drop_index(op.f("ix_stored_files_created_at"), table_name="stored_files")
    op.drop_index(op.f("ix_stored_files_team_id"), table_name="stored_files")
    op.drop_table("stored_files")
