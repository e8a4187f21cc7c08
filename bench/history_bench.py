"""How fast is ``/history`` with 100,000 results? Fills a fresh PostgreSQL database, times it.

    .venv/bin/python bench/history_bench.py [--results 100000] [--repeat 15] [--keep]

A database of its own is created (as tests/fixtures/services.py's ``postgres_url`` does, on
``OCCLAB_TEST_POSTGRES``), migrated to head, filled by bulk inserts (papers, results, and
jobs with job items for the submitter filter; no grid cells: history never reads them),
then each query of :func:`shared.results.history.history_page` (one page plus the capped count)
is run ``--repeat`` times. Prints p50/p95 in milliseconds per scenario and drops the
database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import load_settings
from shared.db import session_factory, upgrade_database
from shared.models import Job, JobItem, Paper, RegisteredModel, Result, Team, User
from shared.results.history import Cursor, HistoryFilter, history_page
from tests.fixtures.services import create_database, drop_database

WORDS = [
    "social",
    "media",
    "network",
    "graph",
    "neural",
    "learning",
    "deep",
    "model",
    "data",
    "analysis",
    "survey",
    "health",
    "policy",
    "economic",
    "language",
    "text",
    "corpus",
    "vision",
    "image",
    "protein",
    "genome",
    "climate",
    "urban",
    "labour",
    "market",
    "education",
    "history",
    "culture",
    "migration",
    "gender",
    "voting",
    "trust",
    "crime",
    "finance",
    "energy",
]
START = datetime(2024, 1, 1)
BATCH = 5_000


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def batches(n: int) -> Iterator[range]:
    for start in range(0, n, BATCH):
        yield range(start, min(n, start + BATCH))


def fill(url: str, n: int, rng: random.Random) -> tuple[int, list[int]]:
    """n papers and results in team 1 (plus 1,000 in a second team); returns team and users."""
    sessions = session_factory(url)
    with sessions.begin() as s:
        s.add_all([Team(id=1, name="Bench"), Team(id=2, name="Other")])
        s.add_all(User(id=u, email=f"u{u}@example.org", password_hash="x") for u in (1, 2, 3))
        s.add_all(
            RegisteredModel(
                id=m,
                name="default",
                version=f"1.{m}",
                manifest_sha256="0" * 64,
                path="/m",
                fields=["title", "abstract"],
            )
            for m in (1, 2)
        )
    for chunk in batches(n + 1_000):
        with sessions.begin() as s:
            s.execute(insert(Paper), [_paper(i, n, rng) for i in chunk])
            s.execute(insert(Result), [_result(i, n, rng) for i in chunk])
    _jobs(sessions, n)
    with sessions() as s:
        s.execute(text("ANALYZE"))
        s.commit()
    return 1, [1, 2, 3]


def _paper(i: int, n: int, rng: random.Random) -> dict[str, object]:
    abstract = " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(4, 8)))
    return {
        "id": i + 1,
        "team_id": 1 if i < n else 2,
        "title": sentence(rng, rng.randint(5, 12)),
        "abstract": abstract,
        "content_hash": f"{i:064d}",
        "created_at": START,
    }


def _result(i: int, n: int, rng: random.Random) -> dict[str, object]:
    return {
        "id": i + 1,
        "team_id": 1 if i < n else 2,
        "paper_id": i + 1,
        "model_id": 1 + (i % 5 == 0),
        "title_unit": "word",
        "abstract_unit": "sentence",
        "status": "done",
        "probability": rng.random(),
        "created_at": START + timedelta(minutes=i),
    }


def _jobs(sessions, n: int) -> None:  # type: ignore[no-untyped-def]
    """One job per 100 results, submitted by users 1-3 in turn."""
    with sessions.begin() as s:
        s.execute(
            insert(Job),
            [
                {
                    "id": j + 1,
                    "team_id": 1,
                    "submitter_id": 1 + j % 3,
                    "model_id": 1,
                    "source": "api",
                    "created_at": START + timedelta(minutes=100 * j),
                }
                for j in range(n // 100)
            ],
        )
    for chunk in batches(n):
        with sessions.begin() as s:
            s.execute(
                insert(JobItem),
                [{"job_id": i // 100 + 1, "position": i % 100, "result_id": i + 1} for i in chunk],
            )


SCENARIOS = {
    "newest page (no filter)": HistoryFilter(),
    "search 'graph neural'": HistoryFilter(q="graph neural"),
    "search rare 'zzqx' (no match)": HistoryFilter(q="zzqx"),
    "model filter": HistoryFilter(model_id=2),
    "P 0.9-1.0": HistoryFilter(p_min=0.9, p_max=1.0),
    "date range (1 month)": HistoryFilter(since=date(2024, 2, 1), until=date(2024, 2, 29)),
    "submitter": HistoryFilter(submitter_id=2),
    "search + model + P": HistoryFilter(q="climate", model_id=1, p_min=0.5),
}


def time_query(
    url: str, f: HistoryFilter, repeat: int, cursor: Cursor | None = None
) -> list[float]:
    sessions = session_factory(url)
    times = []
    for _ in range(repeat):
        with sessions() as s:
            t0 = time.perf_counter()
            history_page(s, 1, f, cursor)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 2 else times[0]
    print(f"{name:34s} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    url = create_database("occlab_bench")
    try:
        upgrade_database(load_settings({"DATABASE_URL": url}))
        t0 = time.perf_counter()
        fill(url, args.results, random.Random(7))
        print(f"filled {args.results:,} results in {time.perf_counter() - t0:.1f} s ({url})")
        for name, f in SCENARIOS.items():
            report(name, time_query(url, f, args.repeat))
        deep = Cursor(START + timedelta(minutes=args.results // 2), args.results // 2)
        report("page in the middle (keyset)", time_query(url, HistoryFilter(), args.repeat, deep))
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
