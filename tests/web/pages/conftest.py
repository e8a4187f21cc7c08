"""Fixtures shared by the page tests (a module may define its own ``ada``)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web.pages.auth_helpers import log_in, make_user


@pytest.fixture
def ada(app: Flask, sessions: sessionmaker[Session]) -> FlaskClient:
    """A client logged in as ada@example.org, owner of team "Alpha"."""
    make_user(sessions, "ada@example.org", "Alpha")
    client = app.test_client()
    log_in(client, "ada@example.org")
    return client
