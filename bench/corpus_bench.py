"""How fast is a job's corpus view with 20,000 results? Fills a fresh PostgreSQL database
with one labelled job of synthetic results of realistic size, then times the first
(uncached) computation and the cached read.

    .venv/bin/python bench/corpus_bench.py [--results 20000] [--repeat 3] [--keep]
    .venv/bin/python bench/corpus_bench.py --reuse postgresql+psycopg://...  # a kept one

Each result has a 10-word title (word units) and a 7-sentence abstract of about 20 words
each (sentence units, ~2 KB of units JSON), so 70 grid cells and 17 leave-one-out rows:
1.7 million rows for 20,000 results, written with COPY. Words are drawn Zipf-like from
600, so common words are in thousands of papers and the tail in a few. Prints the times in
milliseconds and drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import load_settings
from shared.db import get_engine, session_factory, upgrade_database
from shared.models import Job, JobItem, Paper, RegisteredModel, Result, Team
from shared.results.cache import ViewCache
from shared.results.corpus import corpus_view, job_scope
from shared.results.corpus_cache import job_view_json
from tests.fixtures.services import SYSTEM_REDIS_URL, create_database, drop_database

VOCAB = [f"w{k}" for k in range(600)]
ZIPF = [1 / (k + 1) for k in range(len(VOCAB))]
TITLE_WORDS, SENTENCES, SENTENCE_WORDS = 10, 7, 20
BATCH = 2_000


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def synthetic(
    rng: random.Random,
) -> tuple[dict[str, Any], list[list[float]], dict[str, list[float]], int]:
    """One paper: units JSON, grid, leave-one-out deltas and a label that agrees with P
    about 90% of the time."""
    title = rng.choices(VOCAB, ZIPF, k=TITLE_WORDS)
    sentences = [rng.choices(VOCAB, ZIPF, k=SENTENCE_WORDS) for _ in range(SENTENCES)]
    units = {
        "title": {"unit": "word", "units": [[w] for w in title], "labels": title, "left_out": []},
        "abstract": {
            "unit": "sentence",
            "units": sentences,
            "left_out": [],
            "labels": [" ".join(s).capitalize() + "." for s in sentences],
        },
    }
    bias = rng.gauss(0, 3)
    grid = [
        [
            round(_sigmoid(bias * (i + j + 2) / (TITLE_WORDS + SENTENCES) + rng.gauss(0, 0.4)), 6)
            for j in range(SENTENCES)
        ]
        for i in range(TITLE_WORDS)
    ]
    loo = {
        "title": [round(rng.gauss(0, 0.03), 6) for _ in title],
        "abstract": [round(rng.gauss(0, 0.05), 6) for _ in sentences],
    }
    said = int(grid[-1][-1] >= 0.5)
    label = said if rng.random() < 0.9 else 1 - said
    return units, grid, loo, label


def _batches(n: int) -> Iterator[range]:
    for start in range(0, n, BATCH):
        yield range(start, min(n, start + BATCH))


def seed_job(conn: Connection, team_id: int, model_id: int, n: int, seed: int = 1) -> int:
    """A finished job of ``n`` done synthetic results, labelled; returns its id. COPY on
    PostgreSQL, executemany elsewhere (the browser test seeds SQLite with it)."""
    rng = random.Random(seed)
    job_id = conn.execute(
        insert(Job).returning(Job.id),
        {
            "team_id": team_id,
            "model_id": model_id,
            "source": "api",
            "status": "done",
            "total": n,
            "done": n,
        },
    ).scalar_one()
    for chunk in _batches(n):
        papers = [synthetic(rng) for _ in chunk]
        paper_ids = (
            conn.execute(
                insert(Paper).returning(Paper.id, sort_by_parameter_order=True),
                [
                    {
                        "team_id": team_id,
                        "title": " ".join(u["title"]["labels"]).capitalize(),
                        "abstract": " ".join(u["abstract"]["labels"]),
                        "external_id": f"syn:{i}",
                        "content_hash": f"{seed}-{i}",
                    }
                    for i, (u, _, _, _) in zip(chunk, papers, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        result_ids = (
            conn.execute(
                insert(Result).returning(Result.id, sort_by_parameter_order=True),
                [
                    {
                        "team_id": team_id,
                        "paper_id": pid,
                        "model_id": model_id,
                        "title_unit": "word",
                        "abstract_unit": "sentence",
                        "status": "done",
                        "probability": g[-1][-1],
                        "units": u,
                        "cells": TITLE_WORDS * SENTENCES,
                    }
                    for pid, (u, g, _, _) in zip(paper_ids, papers, strict=True)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(JobItem),
            [
                {"job_id": job_id, "position": i, "result_id": rid, "label": lab}
                for i, rid, (_, _, _, lab) in zip(chunk, result_ids, papers, strict=True)
            ],
        )
        cells = [
            (rid, i + 1, j + 1, p)
            for rid, (_, g, _, _) in zip(result_ids, papers, strict=True)
            for i, row in enumerate(g)
            for j, p in enumerate(row)
        ]
        loo = [
            (rid, f, u, d)
            for rid, (_, _, lo, _) in zip(result_ids, papers, strict=True)
            for f, ds in lo.items()
            for u, d in enumerate(ds)
        ]
        _rows(conn, "grid_cells", ("result_id", "title_len", "abstract_len", "probability"), cells)
        _rows(conn, "loo_units", ("result_id", "field", "unit_index", "delta"), loo)
    return int(job_id)


def _rows(
    conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    conn.connection.driver_connection.executemany(  # type: ignore[union-attr]
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
    )


def fill(url: str, n: int) -> int:
    with get_engine(url).begin() as conn:
        team_id = conn.execute(insert(Team).returning(Team.id), {"name": "Bench"}).scalar_one()
        model_id = conn.execute(
            insert(RegisteredModel).returning(RegisteredModel.id),
            {
                "name": "default",
                "version": "1",
                "manifest_sha256": "0" * 64,
                "path": "/",
                "fields": ["title", "abstract"],
                "metrics": {},
            },
        ).scalar_one()
        return seed_job(conn, team_id, model_id, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", metavar="URL", help="a database --keep left: time its job")
    args = parser.parse_args()
    if args.reuse:
        with get_engine(args.reuse).connect() as conn:
            run(
                args.reuse,
                conn.exec_driver_sql("SELECT max(id) FROM jobs").scalar_one(),
                args.repeat,
            )
        return
    url = create_database("occlab_bench")
    try:
        upgrade_database(load_settings({"DATABASE_URL": url}))
        started = time.perf_counter()
        job_id = fill(url, args.results)
        # As autovacuum leaves a loaded table: statistics, and a visibility map for
        # index-only scans.
        with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        print(f"filled {args.results:,} results in {time.perf_counter() - started:.1f} s")
        run(url, job_id, args.repeat)
    finally:
        if not args.keep:
            drop_database(url)


def run(url: str, job_id: int, repeat: int) -> None:
    sessions = session_factory(url)
    first: list[float] = []
    view: dict[str, Any] = {}
    for _ in range(repeat):  # no cache: every run is a first computation
        with sessions() as session:
            started = time.perf_counter()
            view = corpus_view(session, job_scope(job_id))
            first.append((time.perf_counter() - started) * 1000)
    print(
        f"uncached corpus_view: median {statistics.median(first):.0f} ms, "
        f"runs {', '.join(f'{t:.0f}' for t in first)} ms"
    )
    cache = ViewCache.from_settings(
        load_settings({"DATABASE_URL": url, "REDIS_URL": SYSTEM_REDIS_URL})
    )
    cached: list[float] = []
    with sessions() as session:
        job = session.get_one(Job, job_id)
        job_view_json(session, job, cache)  # fills the cache
        for _ in range(20):
            started = time.perf_counter()
            data = job_view_json(session, job, cache)
            json.loads(data)
            cached.append((time.perf_counter() - started) * 1000)
        cache.client.delete(cache.key(job_id, "corpus.json", kind="job"))
    print(
        f"cached (Redis get + JSON parse, {len(data):,} bytes): median "
        f"{statistics.median(cached):.1f} ms"
    )
    labels = view["labels"]
    print(
        f"n {view['n']:,}; AUC {labels['roc_auc']}; accuracy {labels['accuracy']}; "
        f"flipping {view['flips']['papers']:,}; top words "
        f"{', '.join(w['word'] for w in view['words'][:5])}"
    )


if __name__ == "__main__":
    main()
