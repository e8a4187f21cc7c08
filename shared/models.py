"""The SQL data model: teams and people, papers, jobs, results and every grid cell.

Grid cells and leave-one-out units are rows, not blobs, so questions such as "which results
flip when the last abstract sentence is added" are plain SQL (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, utcnow
from shared.units import DEFAULT_UNITS, Detail, boilerplate_option


class JobStatus(StrEnum):
    """(ingesting ->) queued -> running -> done | failed | cancelled; a finished job stays
    finished. ingesting: a stored file is being read into the job in batches (its first
    papers may already be computing); it moves on once the last batch is in."""

    INGESTING = "ingesting"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


class ResultStatus(StrEnum):
    """pending -> running (claimed by one task) -> done | failed; back to pending on errors.

    cancelled: its jobs were all cancelled before it was computed; a later submission of the
    same paper makes it pending again, as it does a failed one."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TracesStatus(StrEnum):
    """A done result's per-token traces: pending (a bulk result's, computed when first
    asked for) or done (stored up front by a full job, or since)."""

    PENDING = "pending"
    DONE = "done"


LIVE = frozenset({JobStatus.INGESTING, JobStatus.QUEUED, JobStatus.RUNNING})
FINISHED = frozenset(JobStatus) - LIVE


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What a login cookie carries; replaced at logout, password change, "log out everywhere".
    session_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The heat map's colour scale this person last chose (shared.scales); None: the default.
    heatmap_scale: Mapped[str | None] = mapped_column(String(16))
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    # Flask-Login's user interface (``is_active`` is the column above), written out here so
    # that ``shared`` needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the login cookies carry: the session token, never the id (see
        shared/accounts/sessions.py), so replacing it revokes them."""
        if not self.session_token:
            raise ValueError("give the user a session token (ensure_session_token) first")
        return self.session_token


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "team_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[User] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship()


class ApiToken(Base):
    """Only the token's sha256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()
    team: Mapped[Team] = relationship()


class Invitation(Base):
    """A link that lets one person join a team; only the token's sha256 is stored."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team: Mapped[Team] = relationship()


class ModelStatus(StrEnum):
    IMPORTING = "importing"  # uploaded on the Models page or the API; a worker converts it
    READY = "ready"
    FAILED = "failed"  # ``error`` says what to fix


class RegisteredModel(Base):
    """A model jobs can name. ``team_id`` NULL: shared by every team (the shipped default);
    else only that team's. Its files are ``model_blobs`` by sha256 (``files``: name to hash),
    so a worker anywhere fetches them; ``path`` is where they were when registered."""

    __tablename__ = "models"
    __table_args__ = (
        Index(
            "ix_models_team_name_version",
            "team_id",
            "name",
            "version",
            unique=True,
            postgresql_where=text("team_id IS NOT NULL"),
            sqlite_where=text("team_id IS NOT NULL"),
        ),
        Index(
            "ix_models_shared_name_version",
            "name",
            "version",
            unique=True,
            postgresql_where=text("team_id IS NULL"),
            sqlite_where=text("team_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(
        String(12), default=ModelStatus.READY, server_default=ModelStatus.READY.value
    )
    error: Mapped[str | None] = mapped_column(Text)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(Text)
    files: Mapped[dict[str, str] | None] = mapped_column(JSON)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The uploaded checkpoint, vectors and spec while a worker imports them (then forgotten),
    # and when a worker began: a redelivered import task finding it set fails the import.
    upload: Mapped[dict[str, int] | None] = mapped_column(JSON)
    import_started_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[User | None] = relationship()

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.version}"


class TeamDefaultModel(Base):
    """The model a team's submissions use when they name none (else the shipped default)."""

    __tablename__ = "team_default_models"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))


class ModelBlob(Base):
    """One model file, content-addressed: stored once however many models share it, in
    ``model_blob_chunks`` (1 MiB each) or, with ``object_url``, in the object store."""

    __tablename__ = "model_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    object_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelBlobChunk(Base):
    __tablename__ = "model_blob_chunks"
    sha256: Mapped[str] = mapped_column(
        ForeignKey("model_blobs.sha256", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StoredFile(Base):
    """A file kept for the workers (a large submission being ingested) or between the
    upload page's two steps, in the database so that any machine can read it; its bytes are
    ``stored_file_chunks`` rows. ``token`` is what a browser holds: random, never the id."""

    __tablename__ = "stored_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # s3://bucket/key when the bytes are in an object store (OCCLAB_OBJECT_STORE); NULL: the
    # stored_file_chunks rows. Kept per file, so changing the setting loses nothing.
    object_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StoredFileChunk(Base):
    __tablename__ = "stored_file_chunks"
    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Paper(Base):
    __tablename__ = "papers"
    __table_args__ = (
        UniqueConstraint("team_id", "content_hash"),
        # History's text search (ILIKE '%q%') on PostgreSQL: trigram GIN indexes (pg_trgm).
        # SQLite has no such index and scans, which is fine at its scale.
        *(
            Index(
                f"ix_papers_{c}_trgm", c, postgresql_using="gin", postgresql_ops={c: "gin_trgm_ops"}
            ).ddl_if(dialect="postgresql")
            for c in ("title", "abstract", "external_id")
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_team_created", "team_id", "created_at"),
        # History's submitter filter: the team's jobs by one person.
        Index("ix_jobs_submitter_team", "submitter_id", "team_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    source: Mapped[str] = mapped_column(String(20))
    source_name: Mapped[str | None] = mapped_column(String(300))
    title_unit: Mapped[str] = mapped_column(String(10), default=DEFAULT_UNITS["title"])
    abstract_unit: Mapped[str] = mapped_column(String(10), default=DEFAULT_UNITS["abstract"])
    # bulk: no per-token traces up front (they are computed when a result is first shown).
    detail: Mapped[str] = mapped_column(
        String(10), default=Detail.BULK, server_default=Detail.BULK.value
    )
    # Placeholders and publisher lines explained as units (shared/boilerplate.py), not left out.
    keep_boilerplate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Rows of the submission left out (on_error=skip), each with why in job_problems.
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Ingestion: the stored file being read (NULL once read), how, and how far it has got
    # (rows and row errors taken, so a redelivered ingest task resumes after them).
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    on_error: Mapped[str] = mapped_column(String(10), default="skip", server_default="skip")
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ingested_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Jobs submitted together, one per model over the same papers and options: the first
    # job's id, on every job of the group (the first too); NULL for a job of one model.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    # The corpus view's random-ranking baseline of faithfulness (a worker computes it for a
    # sample of the finished job's papers the first time its view is opened), and when asked.
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    baseline_requested_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set once every chunk is published; None means no task was sent (yet) for this job.
    sent_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    model: Mapped[RegisteredModel] = relationship()
    items: Mapped[list[JobItem]] = relationship(order_by="JobItem.position")


class Result(Base):
    """One paper under one model and unit choice; shared by every job that asks for it.

    Keeping boilerplate changes the units, so it is part of what makes a result distinct.
    """

    __tablename__ = "results"
    __table_args__ = (
        # Named by hand: the convention's name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            *("team_id", "paper_id", "model_id", "title_unit", "abstract_unit"),
            "keep_boilerplate",
            name="uq_results_paper_options",
        ),
        Index("ix_results_team_status", "team_id", "status"),
        # History: a team's results newest first, paged by (created_at, id).
        Index("ix_results_team_created_id", "team_id", "created_at", "id"),
        # The reaper: running results whose worker stopped beating.
        Index("ix_results_status_heartbeat", "status", "heartbeat_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    title_unit: Mapped[str] = mapped_column(String(10))
    abstract_unit: Mapped[str] = mapped_column(String(10))
    keep_boilerplate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(10), default=ResultStatus.PENDING)
    probability: Mapped[float | None] = mapped_column(Float)
    units: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    skipped: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    activations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"faithfulness": ..., "minimal_flip": ...} (shared.engine.export); NULL before it existed.
    faithfulness: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    compute_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The delivery (task id) that claimed it, and that worker's last sign of life.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    # Title units x abstract units, known at submission: chunks are sized by it.
    cells: Mapped[int | None] = mapped_column(Integer)
    # When the web sent the task computing a bulk result's traces (sent once; again if lost).
    traces_requested_at: Mapped[datetime | None]
    paper: Mapped[Paper] = relationship()
    model: Mapped[RegisteredModel] = relationship()

    def unit_options(self) -> dict[str, str]:
        """How its fields are cut: the units mapping ``explain`` and ``Model.split`` take."""
        cut = {"title": self.title_unit, "abstract": self.abstract_unit}
        return {**cut, **boilerplate_option(self.keep_boilerplate)}

    @property
    def traces_status(self) -> TracesStatus | None:
        """None until done; then pending if ``activations`` was stored in the bulk profile
        (every trace key null, ``shared.engine.export.activations_json``), else done."""
        if self.status != ResultStatus.DONE:
            return None
        fields = (self.activations or {}).get("fields") or {}
        bulk = any(
            isinstance(v, dict) and "running_probability" in v and v["running_probability"] is None
            for v in fields.values()
        )
        return TracesStatus.PENDING if bulk else TracesStatus.DONE


class JobProblem(Base):
    """A row of a submission the job left out, and what to fix (``n`` orders them)."""

    __tablename__ = "job_problems"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[int | None] = mapped_column(Integer)  # the file's line, or the paper's position
    field: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


class JobItem(Base):
    """A job's papers in submission order, each pointing at its (possibly shared) result."""

    __tablename__ = "job_items"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    # The class the submitter gave this row (0 or 1, shared.manifest.CLASS_NAMES), or None.
    label: Mapped[int | None] = mapped_column(Integer)
    # The result this paper was edited from ("Edit this paper"). On the item, not the result:
    # results are shared by content, so one result may be reached from several edits or none.
    revises_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="SET NULL"), index=True
    )
    result: Mapped[Result] = relationship(foreign_keys=[result_id])


class GridCell(Base):
    __tablename__ = "grid_cells"
    result_id: Mapped[int] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), primary_key=True
    )
    title_len: Mapped[int] = mapped_column(Integer, primary_key=True)
    abstract_len: Mapped[int] = mapped_column(Integer, primary_key=True)
    probability: Mapped[float] = mapped_column(Float)


class LooUnit(Base):
    __tablename__ = "loo_units"
    result_id: Mapped[int] = mapped_column(
        ForeignKey("results.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    delta: Mapped[float] = mapped_column(Float)
