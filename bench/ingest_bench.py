"""Ingestion benchmark: a large CSV (titles and abstracts of the labelled file recombined)
uploaded to ``occlab web`` with one ``occlab worker`` on the machine's PostgreSQL and Redis.

Prints the seconds to the 202, papers/s read into the job, the seconds until the first
result is done, and the peak resident memory (VmHWM) of the web's and the worker's process
trees, sampled while the file is read in. It stops once the file is read (computing 100,000
papers would take hours on a laptop):

    .venv/bin/python bench/ingest_bench.py --papers 100000 --concurrency 2
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO, Any

import redis
from sqlalchemy import create_engine, text

from shared.accounts import create_token, create_user
from shared.client import api_call, encode_multipart
from shared.config import load_settings
from shared.db import session_factory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.service_bench import DATA, call, free_port, start, stop, wait_http  # noqa: E402
from tests.fixtures.services import create_database, drop_database  # noqa: E402

LOG = Path(tempfile.gettempdir()) / "ingest_bench_worker.log"


def recombined_csv(n: int, out: IO[str], seed: int = 0) -> None:
    """``n`` rows: each a labelled title with another paper's abstract (distinct texts)."""
    with DATA.open(encoding="utf-8") as f:
        rows = [(r["title"], r["abstract"]) for r in csv.DictReader(f)]
    rng = random.Random(seed)
    writer = csv.writer(out)
    writer.writerow(["id", "title", "abstract"])
    for i in range(n):
        title, _ = rows[i % len(rows)]
        _, abstract = rows[rng.randrange(len(rows))]
        writer.writerow([f"r{i}", title, abstract])


def tree_hwm_mb(root: int) -> float:
    """The largest peak resident set among ``root`` and its descendants, in MB."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(root)], capture_output=True, text=True)
    pids = [root, *(int(p) for p in out.stdout.split())]
    grand = [tree_hwm_mb(p) for p in pids[1:]]
    try:
        status = Path(f"/proc/{root}/status").read_text()
        own = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        own = 0
    return max([own / 1024, *grand])


def job_state(db_url: str, job_id: int) -> tuple[str, int, int, bool]:
    with create_engine(db_url).connect() as conn:
        status, total, rejected = conn.execute(
            text("SELECT status, total, rejected FROM jobs WHERE id = :j"), {"j": job_id}
        ).one()
        done = conn.scalar(text("SELECT count(*) FROM results WHERE status = 'done'"))
    return str(status), int(total), int(rejected), bool(done)


def run(n: int, concurrency: int) -> dict[str, Any]:
    db_url = create_database("occlab_bench")
    port = free_port()
    tag = uuid.uuid4().hex[:6]  # queues of its own: leftovers of another run never reach it
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": "redis://127.0.0.1:6379/0",
           "OCCLAB_QUEUE": f"bench-{tag}",
        "OCCLAB_GPU_QUEUE": f"bench-gpu-{tag}", "SECRET_KEY": "bench"}  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "corpus.csv"
        with csv_path.open("w", encoding="utf-8", newline="") as f:
            recombined_csv(n, f)
        occlab = [sys.executable, "-m", "shared.cli"]
        try:
            subprocess.run([*occlab, "db", "upgrade"], env=env, check=True, capture_output=True)
            with session_factory(load_settings(env).database_url).begin() as session:
                _, token = create_token(session, create_user(session, "b@x.org", "benchmark!", "B"))
            worker = start([*occlab, "worker", "-c", str(concurrency)], env, LOG)
            web = start([*occlab, "web", "--port", str(port)], env)
            procs += [worker, web]
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/api/v1/openapi.json")
            time.sleep(5)  # let the worker connect before the clock starts
            figures = measure(base, token, csv_path, db_url, web.pid, worker.pid)
        finally:
            for proc in procs:
                stop(proc)
            drop_database(db_url)
            redis.Redis().delete(f"bench-{tag}", f"bench-gpu-{tag}", f"bench-{tag}-detail")
        return {"papers": n, "file_mb": round(csv_path.stat().st_size / 1e6, 1),
                "concurrency": concurrency, **figures}  # fmt: skip


def measure(base: str, token: str, csv_path: Path, db_url: str, web: int,
            worker: int) -> dict[str, Any]:  # fmt: skip
    """Upload as ``occlab submit`` does (streamed), then watch the file being read in."""
    t0 = time.perf_counter()
    pieces, length, content_type = encode_multipart({}, csv_path)
    job = api_call(f"{base}/api/v1/jobs", token, pieces, content_type, length)
    to_202 = time.perf_counter() - t0
    first_done = None
    web_mb = worker_mb = 0.0
    while True:
        status, total, rejected, any_done = job_state(db_url, job["id"])
        now = time.perf_counter() - t0
        if any_done and first_done is None:
            first_done = now
        web_mb, worker_mb = max(web_mb, tree_hwm_mb(web)), max(worker_mb, tree_hwm_mb(worker))
        if status != "ingesting":
            break
        time.sleep(0.5)
    read_s = now - to_202
    while first_done is None and time.perf_counter() - t0 < read_s + 600:
        time.sleep(0.5)
        if job_state(db_url, job["id"])[3]:
            first_done = time.perf_counter() - t0
    state = call(f"{base}{job['url']}", token)
    return {"status_202": job["status"], "seconds_to_202": round(to_202, 2),
            "seconds_reading": round(read_s, 1), "ingested": total, "rejected": rejected,
            "papers_per_s_read": round(total / read_s), "seconds_to_first_result": first_done,
            "status_after": state["status"], "web_peak_mb": round(web_mb),
            "worker_peak_mb": round(worker_mb)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    for n in args.papers:
        for key, value in run(n, args.concurrency).items():
            print(f"{key:26s} {value}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end; the worker's log: {LOG}")


if __name__ == "__main__":
    main()
