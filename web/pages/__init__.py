"""The pages people use: server-rendered Jinja views, one blueprint per area."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from shared.scales import format_p
from web.pages.account import account_pages
from web.pages.auth import auth_pages
from web.pages.compare import compare_pages
from web.pages.corpus import corpus_pages
from web.pages.history import history_pages
from web.pages.jobs import job_pages
from web.pages.model_compare import model_compare_pages
from web.pages.models import model_pages
from web.pages.results import result_pages
from web.pages.submit import submit_pages

BLUEPRINTS = (
    auth_pages,
    account_pages,
    submit_pages,
    job_pages,
    model_compare_pages,
    corpus_pages,
    result_pages,
    history_pages,
    compare_pages,
    model_pages,
)


def datetime_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``{{ row.created_at|datetime }}``: a stored time (naive UTC) as the pages write it;
    empty for none, so ``|datetime or "never"`` reads naturally."""
    return "" if moment is None else moment.strftime(fmt)


def register_pages(app: Flask) -> None:
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_filter(format_p, "p")  # {{ result.probability|p }}: 0.015, not 0.01
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
