"""Pages: compare (being built)."""

from __future__ import annotations

from flask import Blueprint

compare_pages = Blueprint("compare_pages", __name__)
