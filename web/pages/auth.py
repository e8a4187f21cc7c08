"""Pages: auth (being built)."""

from __future__ import annotations

from flask import Blueprint

auth_pages = Blueprint("auth_pages", __name__)
