"""Pages: account (being built)."""

from __future__ import annotations

from flask import Blueprint

account_pages = Blueprint("account_pages", __name__)
