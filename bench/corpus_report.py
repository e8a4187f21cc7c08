"""The corpus view of the labelled file's held-out test split, labels and all: the figures
docs/BENCHMARKS.md quotes (AUC, accuracy, the top title words, sentence positions, flips).

    .venv/bin/python bench/corpus_report.py [--data ../shared/data/labelled-papers.csv]
        [--keep-boilerplate]

The split is the default model's own (``stratified_split`` with the seed in its manifest),
so the test papers are ones it never trained on. They are submitted as one job with their
labels (``create_job``, as the API would), computed in this process by the worker's own
``process_chunk`` into a fresh SQLite database, and the view is read by ``corpus_view``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import load_settings
from shared.db import session_factory, upgrade_database
from shared.engine.dataset import read_labelled_csv, stratified_split
from shared.jobs.submit import Submission, create_job
from shared.manifest import DEFAULT_MODEL_DIR, read_manifest
from shared.models import Team
from shared.results.corpus import corpus_view, job_scope
from worker.processing import process_chunk

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--keep-boilerplate", action="store_true", help="as training read the text")
    args = parser.parse_args()
    seed = int(read_manifest(DEFAULT_MODEL_DIR)["training"]["seed"])
    test = stratified_split(read_labelled_csv(args.data, seed=seed), seed=seed).test
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/report.db"
        settings = load_settings({"DATABASE_URL": url, "OCCLAB_INSTANCE": tmp})
        upgrade_database(settings)
        sessions = session_factory(url)
        with sessions.begin() as session:
            team = Team(name="Report")
            session.add(team)
            session.flush()
            papers = [{"title": p.title, "abstract": p.abstract, "label": p.label} for p in test]
            sub = Submission(team.id, None, papers, keep_boilerplate=args.keep_boilerplate)
            job, todo = create_job(session, settings, sub)
            job_id = job.id
        started = time.perf_counter()
        for start in range(0, len(todo), 16):
            process_chunk(sessions, todo[start : start + 16], max_attempts=1, backoff_s=0)
        print(f"{len(test)} test papers explained in {time.perf_counter() - started:.0f} s")
        with sessions() as session:
            started = time.perf_counter()
            view = corpus_view(session, job_scope(job_id))
            print(f"corpus view in {(time.perf_counter() - started) * 1000:.0f} ms")
    report(view)


def report(view: dict) -> None:  # type: ignore[type-arg]
    labels = view["labels"]
    print(f"n {view['n']}; histogram {view['probability_histogram']['counts']}")
    print(
        f"labelled {labels['n']} ({labels['positives']} positive); accuracy "
        f"{labels['accuracy']}; ROC AUC {labels['roc_auc']}; confusion {labels['confusion']}"
    )
    print("top title words (papers, mean delta, mean |delta|):")
    for w in view["words"][:15]:
        print(
            f"  {w['word']:<16} {w['papers']:>3} {w['mean_delta']:+.4f} {w['mean_abs_delta']:.4f}"
        )
    for end, rows in view["abstract_positions"].items():
        cells = ", ".join(f"{r['position']}: {r['mean_delta']:+.4f}" for r in rows)
        print(f"abstract sentences {end}: {cells}")
    flips = view["flips"]
    print(
        f"flips: {flips['papers']} papers anywhere in the grid; {flips['along_title']} on a "
        f"title word, {flips['along_abstract']} on an abstract sentence; words "
        f"{[(w['word'], w['papers']) for w in flips['title_words'][:8]]}; from the end "
        f"{flips['abstract_positions']['from_end']}"
    )
    wrong = labels["misclassified"]
    print(
        f"misclassified {wrong['count']}, most confident: "
        f"{[(m['title'][:50], m['probability'], m['label']) for m in wrong['papers'][:3]]}"
    )


if __name__ == "__main__":
    main()
