"""Pages: history (being built)."""

from __future__ import annotations

from flask import Blueprint

history_pages = Blueprint("history_pages", __name__)
