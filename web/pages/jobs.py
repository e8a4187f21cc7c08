"""Pages: jobs (being built)."""

from __future__ import annotations

from flask import Blueprint

job_pages = Blueprint("job_pages", __name__)
