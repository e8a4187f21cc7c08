"""Models per team, their files content-addressed in the database: the registry of issue 11.

``models`` gains its team (NULL: shared, the shipped default), status, manifest, files and
importer, and unique names per team; ``model_blobs`` hold the files by sha256;
``team_default_models`` each team's default. Rows registered before keep their ``path``,
which workers fall back to until the files are stored (``occlab db upgrade`` stores the
shipped default's).

Revision ID: b1c2d3e4f5a6
Revises: a7b8c9d0e1f2
Create Date: 2026-12-01 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1c2d3e4f5a6"
down_revision: str | Sequence[str] | None = "a7b8c9d0e1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAM_WHERE = sa.text("team_id IS NOT NULL")
SHARED_WHERE = sa.text("team_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="ready")
        )
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("files", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("manifest", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("imported_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("upload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("import_started_at", sa.DateTime(), nullable=True))
        batch.alter_column("manifest_sha256", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("path", existing_type=sa.Text(), nullable=True)
        batch.drop_constraint("uq_models_name_version", type_="unique")
        batch.create_foreign_key(
            "fk_models_team_id_teams", "teams", ["team_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_models_imported_by_id_users",
            "users",
            ["imported_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_models_team_id", ["team_id"])
    for name, columns, where in (
        ("ix_models_team_name_version", ["team_id", "name", "version"], TEAM_WHERE),
        ("ix_models_shared_name_version", ["name", "version"], SHARED_WHERE),
    ):
        op.create_index(
            name, "models", columns, unique=True, postgresql_where=where, sqlite_where=where
        )
    op.create_table(
        "model_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_url", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_model_blobs")),
    )
    op.create_table(
        "model_blob_chunks",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["model_blobs.sha256"],
            name=op.f("fk_model_blob_chunks_sha256_model_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", "n", name=op.f("pk_model_blob_chunks")),
    )
    op.create_table(
        "team_default_models",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_default_models_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_team_default_models_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_default_models")),
    )


def downgrade() -> None:
    # Team models cannot survive the downgrade (names were unique over all teams then), and
    # deleting them would orphan their jobs and results: refuse while there are any.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM models WHERE team_id IS NOT NULL")).scalar():
        raise RuntimeError("models of teams exist: delete them (and their jobs) to downgrade")
    op.drop_table("team_default_models")
    op.drop_table("model_blob_chunks")
    op.drop_table("model_blobs")
    op.drop_index("ix_models_shared_name_version", table_name="models")
    op.drop_index("ix_models_team_name_version", table_name="models")
    with op.batch_alter_table("models") as batch:
        batch.drop_index("ix_models_team_id")
        batch.drop_constraint("fk_models_imported_by_id_users", type_="foreignkey")
        batch.drop_constraint("fk_models_team_id_teams", type_="foreignkey")
        batch.create_unique_constraint("uq_models_name_version", ["name", "version"])
        batch.alter_column("path", existing_type=sa.Text(), nullable=False)
        batch.alter_column("manifest_sha256", existing_type=sa.String(length=64), nullable=False)
        for column in ("import_started_at", "upload", "imported_by_id", "manifest", "files"):
            batch.drop_column(column)
        for column in ("error", "status", "team_id"):
            batch.drop_column(column)
