"""Pages: results (being built)."""

from __future__ import annotations

from flask import Blueprint

result_pages = Blueprint("result_pages", __name__)
