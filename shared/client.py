"""The standard library's HTTP client of `/api/v1`, for `occlab submit` and `occlab run`.

No third-party HTTP package and no server-side code: it works from any machine that has
the package."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.models import FINISHED

MAX_PROBLEMS_SHOWN = 5


class ClientError(Exception):
    """The server refused, or could not be reached; the message is ready for the user."""


def describe_http_error(exc: urllib.error.HTTPError) -> str:
    """The server's JSON ``error`` and first ``problems``, on one line."""
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    message = f"{body.get('error') or exc.reason} (HTTP {exc.code})"
    problems = body.get("problems") or []
    shown = [_problem(p) for p in problems[:MAX_PROBLEMS_SHOWN] if isinstance(p, dict)]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return "; ".join([message, *shown])


def _problem(problem: dict[str, Any]) -> str:
    """``line 3 abstract: ...`` for files, ``paper 3 ...`` for JSON; either may be absent."""
    where = [
        f"line {problem['line']}" if problem.get("line") else "",
        f"paper {problem['index']}" if problem.get("index") and not problem.get("line") else "",
        str(problem.get("field") or ""),
    ]
    label = " ".join(w for w in where if w)
    return f"{label}: {problem.get('error')}" if label else str(problem.get("error"))


def api_call(
    url: str,
    token: str,
    data: bytes | Iterable[bytes] | None = None,
    content_type: str | None = None,
    length: int | None = None,
) -> dict[str, Any]:
    """One request; ``data`` may be an iterable of pieces (a streamed upload of ``length``
    bytes), so a large file is never held whole."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    if length is not None:
        headers["Content-Length"] = str(length)
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        raise ClientError(describe_http_error(exc)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ClientError(f"cannot reach {url}: {reason}") from exc
    except ValueError as exc:
        raise ClientError(f"{url} did not answer with JSON; is --server right?") from exc


def download(url: str, token: str, out: Path, chunk: int = 1 << 16) -> int:
    """Stream ``url`` into ``out`` (written whole or not at all); returns the bytes written."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    partial = out.with_name(f".{out.name}.partial")
    written = 0
    try:
        with urllib.request.urlopen(request, timeout=60) as response, partial.open("wb") as f:
            while block := response.read(chunk):
                written += f.write(block)
        partial.replace(out)
    except urllib.error.HTTPError as exc:
        raise ClientError(describe_http_error(exc)) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ClientError(f"cannot reach {url}: {reason}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return written


Fields = Mapping[str, str | Sequence[str]]  # a list: the field repeated, once per value


def encode_multipart(fields: Fields, path: Path) -> tuple[Iterator[bytes], int, str]:
    """A ``multipart/form-data`` body with ``fields`` and the file as part ``file``: its
    pieces (the file read 1 MiB at a time), its length and its content type."""
    boundary = f"occlab-{uuid.uuid4().hex}"
    filename = path.name.replace('"', "%22").replace("\r", "").replace("\n", "")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, values in fields.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    head = "".join(parts) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def pieces() -> Iterator[bytes]:
        yield head.encode()
        with path.open("rb") as f:
            while piece := f.read(1 << 20):
                yield piece
        yield tail

    length = len(head.encode()) + path.stat().st_size + len(tail)
    return pieces(), length, f"multipart/form-data; boundary={boundary}"


def submit_file(server: str, token: str, path: Path, fields: Fields) -> dict[str, Any]:
    """Upload a CSV/JSONL file as a new job; returns the server's job object."""
    body, length, content_type = encode_multipart(fields, path)
    job = api_call(f"{server.rstrip('/')}/api/v1/jobs", token, body, content_type, length)
    return dict(job.get("job", job))  # accept a bare job object or one wrapped as {"job": ...}


def job_url(server: str, job: dict[str, Any]) -> str:
    """The job's page (the server answers with a path); its API URL from an older server."""
    path = job.get("html_url") or job.get("url") or f"api/v1/jobs/{job['id']}"
    return urllib.parse.urljoin(server.rstrip("/") + "/", path)


def follow_job(
    server: str, token: str, job: dict[str, Any], interval_s: float = 0.5
) -> dict[str, Any]:
    """Poll the job, drawing a progress bar on stderr, until it ends; returns its last state
    (a large file's rows are counted as a worker reads them: the bar's total grows)."""
    from tqdm import tqdm

    url = f"{server.rstrip('/')}/api/v1/jobs/{job['id']}"
    with tqdm(total=job.get("total") or None, unit="paper", desc=f"job {job['id']}") as bar:
        while True:
            state = api_call(url, token)
            state = dict(state.get("job", state))
            bar.total = state.get("total") or bar.total
            bar.n = int(state.get("done", 0)) + int(state.get("failed", 0))
            bar.set_postfix(status=state.get("status"), failed=state.get("failed", 0))
            if state.get("status") in FINISHED:
                return state
            time.sleep(interval_s)
