"""``occlab db|user|token|submit``: run in-process against SQLite and a fake API server."""

from __future__ import annotations

import email.parser
import json
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from shared.accounts import authenticate_token, find_user, verify_password
from shared.cli import admin, main
from shared.db import session_scope
from tests.fixtures.factories import SHIPPED_SPEC

PAPERS = '{"title": "A title", "abstract": "An abstract."}\n'


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    instance = tmp_path / "instance"
    return {"OCCLAB_INSTANCE": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'o.db'}"}


def occlab(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def migrated(env: dict[str, str]) -> dict[str, str]:
    assert occlab(env, "db", "upgrade").exit_code == 0
    return env


def test_db_upgrade_creates_the_instance_folder_and_is_repeatable(env: dict[str, str]) -> None:
    first = occlab(env, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "database at revision" in first.stdout
    assert (Path(env["OCCLAB_INSTANCE"]) / "o.db").is_file()
    assert occlab(env, "db", "upgrade").stdout == first.stdout


def test_user_add_reads_one_line_from_a_pipe(migrated: dict[str, str]) -> None:
    result = occlab(
        migrated, "user", "add", "Ann@Example.org", "--team", "Lab", input="s3cret-pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "added ann@example.org to Lab" in result.stdout
    with session_scope(migrated["DATABASE_URL"]) as session:
        person = find_user(session, "ann@example.org")
        assert person is not None and verify_password(person.password_hash, "s3cret-pw")


def test_user_add_asks_twice_at_a_terminal(
    migrated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "_stdin_is_tty", lambda: True)
    result = occlab(migrated, "user", "add", "b@x.org", "--team", "T", input="pw-123456\n" * 2)
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("c@x.org", "short\n", "at least 8 characters"),
        ("not-an-email", "long-enough\n", "is not an email address"),
    ],
)
def test_user_add_rejects_bad_input(
    migrated: dict[str, str], email: str, password: str, message: str
) -> None:
    result = occlab(migrated, "user", "add", email, "--team", "T", input=password)
    assert_one_line_error(result, message)


def test_user_add_twice_is_an_error(migrated: dict[str, str]) -> None:
    occlab(migrated, "user", "add", "d@x.org", "--team", "T", input="long-enough\n")
    again = occlab(migrated, "user", "add", "d@x.org", "--team", "T", input="long-enough\n")
    assert_one_line_error(again, "already has an account")


def test_token_create_prints_a_working_token_once(migrated: dict[str, str]) -> None:
    occlab(migrated, "user", "add", "e@x.org", "--team", "T", input="long-enough\n")
    result = occlab(migrated, "token", "create", "e@x.org", "--team", "T", "--name", "ci")
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip()
    assert plain.startswith("ocl_") and "\n" not in plain
    assert "cannot be shown again" in result.stderr
    with session_scope(migrated["DATABASE_URL"]) as session:
        row = authenticate_token(session, plain)
        assert row is not None and row.name == "ci"


def test_token_create_names_what_is_missing(migrated: dict[str, str]) -> None:
    assert_one_line_error(occlab(migrated, "token", "create", "nobody@x.org"), "no user")
    occlab(migrated, "user", "add", "f@x.org", "--team", "T", input="long-enough\n")
    assert_one_line_error(
        occlab(migrated, "token", "create", "f@x.org", "--team", "Nope"), "no team named 'Nope'"
    )


class FakeApi(BaseHTTPRequestHandler):
    """Answers POST /api/v1/jobs with ``post`` and each GET with the next of ``states``."""

    post: ClassVar[tuple[int, dict[str, Any]]] = (202, {})
    states: ClassVar[list[dict[str, Any]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        raw = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        parts = email.parser.BytesParser().parsebytes(raw).get_payload()
        assert isinstance(parts, list)
        form: dict[Any, Message] = {
            p.get_param("name", header="content-disposition"): p
            for p in parts
            if isinstance(p, Message)
        }
        file = form.pop("file")
        self.seen.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                "fields": {k: p.get_payload() for k, p in form.items()},
                "filename": file.get_filename(),
                "file": file.get_payload(decode=True),
            }
        )
        self.answer(*self.post)

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, "auth": self.headers["Authorization"]})
        self.answer(200, self.states.pop(0))

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    FakeApi.seen, FakeApi.states = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def submit(api: str, tmp_path: Path, *extra: str) -> Result:
    papers = tmp_path / "papers.jsonl"
    papers.write_text(PAPERS, encoding="utf-8")
    return occlab({}, "submit", str(papers), "--server", api, "--token", "ocl_t", *extra)


def test_submit_uploads_and_follows_the_job(api: str, tmp_path: Path) -> None:
    FakeApi.post = (202, {"id": 7, "url": "/api/v1/jobs/7", "status": "queued", "total": 2})
    FakeApi.states = [
        {"id": 7, "status": "running", "total": 2, "done": 1, "failed": 0},
        {"id": 7, "status": "done", "total": 2, "done": 2, "failed": 0},
    ]
    result = submit(api, tmp_path, "--model", SHIPPED_SPEC, "--abstract-unit", "word")
    assert result.exit_code == 0, result.output
    assert f"job 7: {api}/api/v1/jobs/7" in result.stdout
    assert "job 7 done" in result.stdout
    upload, *polls = FakeApi.seen
    assert upload["path"] == "/api/v1/jobs" and upload["auth"] == "Bearer ocl_t"
    assert upload["fields"] == {
        "title_unit": "word",
        "abstract_unit": "word",
        "model": SHIPPED_SPEC,
    }
    assert upload["filename"] == "papers.jsonl" and upload["file"] == PAPERS.encode()
    assert [p["path"] for p in polls] == ["/api/v1/jobs/7"] * 2


def test_submit_shows_the_servers_error_and_problems(api: str, tmp_path: Path) -> None:
    problems = [{"line": n, "field": "abstract", "error": "empty"} for n in range(1, 8)]
    FakeApi.post = (400, {"error": "the submission has errors", "problems": problems})
    result = submit(api, tmp_path)
    assert_one_line_error(
        result, "the submission has errors (HTTP 400)", "line 1 abstract: empty", "and 2 more"
    )


def test_submit_to_a_failed_job_exits_1(api: str, tmp_path: Path) -> None:
    FakeApi.post = (202, {"id": 3, "status": "queued", "total": 1})
    FakeApi.states = [{"id": 3, "status": "failed", "total": 1, "done": 0, "failed": 1}]
    result = submit(api, tmp_path)
    assert result.exit_code == 1 and "job 3 failed" in result.stdout


def test_submit_to_no_server_is_a_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(submit("http://127.0.0.1:9", tmp_path), "cannot reach")
