"""End-to-end service benchmark: N papers through the JSON API with one ``occlab worker``
(at each ``--concurrency`` asked for), against the engine alone on the same papers (its
batched grid, and the bulk profile a worker computes), and the bytes stored per paper.

Runs on the machine's PostgreSQL (``OCCLAB_TEST_POSTGRES``) and Redis, as in production, in a
fresh database it drops afterwards; the ratios are measured in one run:

    .venv/bin/python bench/service_bench.py --papers 2000 --concurrency 1 2
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

from shared.accounts import create_token, create_user
from shared.config import load_settings
from shared.db import session_factory
from shared.engine.dataset import read_labelled_csv
from shared.jobs.submit import check_papers
from shared.manifest import DEFAULT_MODEL_DIR, read_vocab

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is not installed: its database helpers are shared

from tests.fixtures.services import create_database, drop_database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "labelled-papers.csv"
TABLES = ("papers", "results", "job_items", "grid_cells", "loo_units", "jobs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """A service in its own process group, its output to ``log`` (or nowhere)."""
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=out, stderr=out)


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def call(url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def engine_alone(papers: list[dict[str, str]], chunk: int) -> dict[str, float]:
    """Papers/s of the engine in this process, one thread, in the worker's chunks: the
    batched grid alone, and the bulk profile (grid, leave-one-out, contributions)."""
    from shared.engine import explain, load_model, occlusion_grids
    from shared.engine.threads import set_threads

    set_threads()
    model = load_model()
    runs = {
        "grid": lambda batch: occlusion_grids(model, batch),
        "bulk": lambda batch: explain(model, batch, detail="bulk"),
    }
    rates = {}
    for name, compute in runs.items():
        compute(papers[:chunk])  # warm-up
        start_t = time.perf_counter()
        for i in range(0, len(papers), chunk):
            compute(papers[i : i + chunk])
        rates[name] = len(papers) / (time.perf_counter() - start_t)
    return rates


def export(url: str, token: str) -> tuple[float, int]:
    """Seconds to stream the job's results.csv, and its rows (the header not counted)."""
    start_t = time.perf_counter()
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        rows = sum(1 for _ in csv.reader(io.TextIOWrapper(resp, encoding="utf-8"))) - 1
    return time.perf_counter() - start_t, rows


def stored_bytes(url: str) -> dict[str, int]:
    with create_engine(url).connect() as conn:
        return {
            t: int(conn.scalar(text(f"SELECT pg_total_relation_size('{t}')")) or 0) for t in TABLES
        }


def usable_papers(n: int) -> list[dict[str, str]]:
    """``n`` labelled papers the API takes (all of them, now that a field of unknown words is
    read as nothing; the check keeps the count honest if that changes)."""
    vocab = read_vocab(DEFAULT_MODEL_DIR)
    units = {"title": "word", "abstract": "sentence"}
    papers = [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(DATA, limit=n + 50, seed=11)
    ]
    return [p for p in papers if not check_papers([p], vocab, units)][:n]


def run(papers: list[dict[str, str]], concurrency: int) -> dict[str, Any]:
    n = len(papers)
    db_url = create_database("occlab_bench")
    port = free_port()
    tag = uuid.uuid4().hex[:6]  # queues of its own: leftovers of another run never reach it
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "OCCLAB_QUEUE": f"bench-{tag}",
        "OCCLAB_GPU_QUEUE": f"bench-gpu-{tag}",
        "SECRET_KEY": "bench",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([sys.executable, "-m", "shared.cli", "db", "upgrade"], env=env, check=True)
        settings = load_settings(env)
        with session_factory(settings.database_url).begin() as session:
            _, token = create_token(session, create_user(session, "b@x.org", "benchmark!", "B"))
        worker = [sys.executable, "-m", "shared.cli", "worker", "-c", str(concurrency)]
        procs.append(start(worker, env))
        procs.append(start([sys.executable, "-m", "shared.cli", "web", "--port", str(port)], env))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/v1/openapi.json")
        time.sleep(5)  # let the worker connect before the clock starts
        t0 = time.perf_counter()
        job = call(f"{base}/api/v1/jobs", token, {"papers": papers})
        submit_s = time.perf_counter() - t0
        while (status := call(f"{base}{job['url']}", token))["status"] not in ("done", "failed"):
            time.sleep(1)
        total_s = time.perf_counter() - t0
        export_s, export_rows = export(f"{base}{job['url']}/results.csv", token)
        sizes = stored_bytes(db_url)
    finally:
        for proc in procs:
            stop(proc)
        drop_database(db_url)
        redis.Redis().delete(f"bench-{tag}", f"bench-gpu-{tag}", f"bench-{tag}-detail")
    return {
        "concurrency": concurrency,
        "papers": n,
        "done": status["done"],
        "failed": status["failed"],
        "submit_s": round(submit_s, 2),
        "end_to_end_s": round(total_s, 1),
        "end_to_end_papers_per_s": round(n / total_s, 2),
        "export_rows": export_rows,
        "export_s": round(export_s, 2),
        "bytes_per_paper": {t: round(b / n) for t, b in sizes.items()},
        "bytes_per_paper_total": round(sum(sizes.values()) / n),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    papers = usable_papers(args.papers)
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    runs = [run(papers, c) for c in args.concurrency]
    engine = engine_alone(papers, load_settings().chunk_size)
    for figures in runs:
        for key, value in figures.items():
            print(f"{key:28s} {value}")
        rate = figures["end_to_end_papers_per_s"]
        print(f"{'end to end / engine grid':28s} {rate / engine['grid']:.2f}")
        print(f"{'end to end / engine bulk':28s} {rate / engine['bulk']:.2f}")
    print(f"{'engine grid papers/s':28s} {engine['grid']:.1f}")
    print(f"{'engine bulk papers/s':28s} {engine['bulk']:.1f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
