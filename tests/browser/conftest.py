"""Browser tests: the real app served on a free local port, driven by Debian's Chromium
through Playwright (its own browser download cannot work here, so ``executable_path`` is
``/usr/bin/chromium``). Missing Chromium skips, or fails under OCCLAB_REQUIRE_SERVICES."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from shared.config import Settings, load_settings
from shared.db import session_factory
from tests.fixtures import factories
from tests.fixtures.factories import ADA, ADA_TEAM, PASSWORD
from tests.fixtures.services import require

CHROMIUM = os.environ.get("OCCLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        require(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def ui_settings(tmp_path: Path, sqlite_template: Path, system_redis_url: str) -> Settings:
    """SQLite (a copy of the migrated template) and the system Redis, with queues of this
    test's own."""
    database = tmp_path / "ui.db"
    shutil.copyfile(sqlite_template, database)
    sqlite_url = f"sqlite:///{database}"
    tag = os.urandom(4).hex()
    return load_settings(
        {
            "OCCLAB_INSTANCE": str(tmp_path / "instance"),
            "DATABASE_URL": sqlite_url,
            "REDIS_URL": system_redis_url,
            "SECRET_KEY": "browser-test-secret",
            "OCCLAB_QUEUE": f"occlab-ui-{tag}",
            "OCCLAB_GPU_QUEUE": f"occlab-ui-gpu-{tag}",
        }
    )


@pytest.fixture
def live_server(ui_settings: Settings) -> Iterator[str]:
    """The app on 127.0.0.1:<free port>, in a thread; yields its base URL."""
    from web.app import create_app

    app = create_app({"SETTINGS": ui_settings, "CACHE_NAMESPACE": os.urandom(4).hex()})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def db_session(ui_settings: Settings) -> Iterator[Session]:
    session = session_factory(ui_settings.database_url)()
    yield session
    session.close()


@pytest.fixture
def user(db_session: Session) -> dict[str, str]:
    """A user with a team, committed: log in with these."""
    factories.user(db_session, ADA, ADA_TEAM)
    db_session.commit()
    return {"email": ADA, "password": PASSWORD, "team": ADA_TEAM}


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A fresh browser context at desktop (1280 px) and phone (390 px) widths."""
    width = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def log_in(page: Any, live_server: str) -> Callable[[dict[str, str]], None]:
    """``log_in(user)``: log ``page`` in through the real form."""

    def log_in(user: dict[str, str]) -> None:
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(user["email"])
        page.get_by_label("Password").fill(user["password"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return log_in
