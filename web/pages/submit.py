"""Pages: submit (being built)."""

from __future__ import annotations

from flask import Blueprint

submit_pages = Blueprint("submit_pages", __name__)
