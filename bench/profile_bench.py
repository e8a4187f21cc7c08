"""The bulk profile against the full one: per-paper compute time and stored size.

On N real labelled papers, with one torch thread and the worker's chunks of 16, times
``occlusion_grids`` (grid only), ``explain(detail="bulk")`` (grid, leave-one-out and the
contributions: what a worker stores by default), ``explain(detail="full")`` (also the per-token
traces and P as the model reads) and ``activation_traces`` for one paper (the traces asked for
later, on demand). Then stores every paper's result both ways with the worker's own
``store_explanation`` into fresh SQLite databases and reports the bytes it added per paper
(grid cells, leave-one-out rows, the JSON columns and their indexes), and of those the
activations JSON.

    .venv/bin/python bench/profile_bench.py --papers 200
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.config import load_settings  # noqa: E402
from shared.db import dispose_engines, session_factory, upgrade_database  # noqa: E402
from shared.engine import Explanation, load_model  # noqa: E402
from shared.engine.dataset import read_labelled_csv  # noqa: E402
from shared.engine.explanations import activation_traces, explain, occlusion_grids  # noqa: E402
from shared.models import Paper, Result, Team  # noqa: E402
from shared.registry.catalog import register_model  # noqa: E402
from worker.processing import store_explanation  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "labelled-papers.csv"
CHUNK = 16  # OCCLAB_CHUNK_SIZE's default: a worker explains its chunk in one batch
UNITS = {"title": "word", "abstract": "sentence"}
Papers = list[dict[str, str]]


def timed(
    run: Callable[[Sequence[dict[str, str]]], list[Any]], papers: Papers, chunk: int = CHUNK
) -> tuple[float, list[Any]]:
    """Per-paper milliseconds over chunks of ``chunk``, and what the chunks returned."""
    run(papers[:2])  # warm up
    out: list[Any] = []
    start = time.perf_counter()
    for i in range(0, len(papers), chunk):
        out += run(papers[i : i + chunk])
    return 1000 * (time.perf_counter() - start) / len(papers), out


def stored_bytes(model_dir: Path, papers: Papers, found: list[Explanation]) -> tuple[float, float]:
    """(bytes per paper that ``store_explanation`` adds to a SQLite database, and of those
    the activations JSON). The papers and their pending results are stored, and measured,
    first, so their text is not counted."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade_database(load_settings({"DATABASE_URL": url, "OCCLAB_INSTANCE": tmp}))
        sessions = session_factory(url)
        with sessions.begin() as session:
            ids = _pending(session, model_dir, papers)
        before = _size(path)
        json_bytes = 0
        with sessions.begin() as session:
            for result_id, e in zip(ids, found, strict=True):
                result = session.get_one(Result, result_id)
                store_explanation(session, result, e, 0.0)
                json_bytes += len(json.dumps(result.activations))
        dispose_engines()
        return (_size(path) - before) / len(papers), json_bytes / len(papers)


def _pending(session: Session, model_dir: Path, papers: Papers) -> list[int]:
    team = Team(name="bench")
    session.add(team)
    session.flush()
    model_id = register_model(session, model_dir).id
    rows = [Paper(team_id=team.id, content_hash=f"{n:064d}", **p) for n, p in enumerate(papers)]
    session.add_all(rows)
    session.flush()
    units = {"title_unit": UNITS["title"], "abstract_unit": UNITS["abstract"]}
    results = [Result(team_id=team.id, paper_id=r.id, model_id=model_id, **units) for r in rows]
    session.add_all(results)
    session.flush()
    return [r.id for r in results]


def _size(path: Path) -> int:
    """The database's size with its write-ahead log folded in and free pages dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    finally:
        conn.close()
    return path.stat().st_size


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bench/gpu.sh)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="papers a batch (GPU: 256)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model, device=args.device)
    papers = [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(args.data, args.papers, seed=0)
    ]
    print(f"{len(papers)} papers, chunks of {args.chunk} on {args.device}, 1 torch thread, "
          f"{os.cpu_count()} CPUs, load average {load()}")  # fmt: skip
    runs = {
        "grid only": lambda b: occlusion_grids(model, b, units=UNITS),
        "bulk profile": lambda b: explain(model, b, units=UNITS, detail="bulk"),
        "full profile": lambda b: explain(model, b, units=UNITS, detail="full"),
        "traces later, one paper": lambda b: [
            activation_traces(model, [p], units=UNITS) for p in b
        ],
    }
    found = {}
    for name, run in runs.items():
        ms, found[name] = timed(run, papers, args.chunk)
        print(f"{name:>24}: {ms:7.1f} ms a paper")
    for detail in ("bulk", "full"):
        added, js = stored_bytes(args.model, papers, found[f"{detail} profile"])
        print(f"{detail + ' profile stored':>24}: {added / 1024:7.2f} KB a paper "
              f"(activations JSON {js / 1024:.2f} KB)")  # fmt: skip
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
