"""The corpus view against the same figures computed here from the stored rows, by brute
force (pairs for the AUC, loops for the words), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from shared.db import session_factory
from shared.models import JobItem
from shared.results.corpus import MIN_PAPERS, corpus_view, history_scope, job_scope
from shared.results.history import HistoryFilter
from tests.fixtures import factories

VOCAB = ["social", "media", "network", "deep", "learning", "survey", "of", "the", "data", "web"]


@dataclass
class Paper:
    result_id: int
    label: int | None
    p: float
    grid: list[list[float]]
    title_units: list[list[str]]
    loo: dict[str, list[float]]


def _explained(rng: random.Random) -> factories.Explained:
    t, s = rng.randint(1, 5), rng.randint(1, 6)
    # Coarse P values, so ties between papers (the ROC's hard case) occur.
    grid = [
        [round(rng.choice([0.05, 0.3, 0.5, 0.7, 0.95]) + rng.random() * 0.01, 2) for _ in range(s)]
        for _ in range(t)
    ]
    # Units of one or two words, a word twice in a unit now and then (counted once there).
    title = [[rng.choice(VOCAB) for _ in range(rng.randint(1, 2))] for _ in range(t)]
    units = {
        "title": {"unit": "word", "units": title, "labels": [" ".join(u) for u in title]},
        "abstract": {"unit": "sentence", "units": [["we"]] * s, "labels": ["We."] * s},
    }
    loo = {
        f: [round(rng.uniform(-0.3, 0.3), 4) for _ in range(n)]
        for f, n in (("title", t), ("abstract", s))
    }
    return factories.Explained(grid, units, loo)


def _stored(session: Session, team_id: int, model_id: int, n: int) -> tuple[int, list[Paper]]:
    """A job of ``n`` done papers (random labels, some None), one pending, one held twice."""
    rng = random.Random(7)
    papers = []
    for k in range(n):
        e = _explained(rng)
        row = factories.result(session, team_id, model_id, title=f"Paper {k}", explained=e)
        label = rng.choice([0, 1, 1, None])
        papers.append(
            Paper(row.id, label, e.grid[-1][-1], e.grid, e.units["title"]["units"], e.loo)
        )
    pending = factories.result(session, team_id, model_id, "pending", title="Pending").id
    ids = [p.result_id for p in papers]
    job = factories.job(session, team_id, model_id, [*ids, pending, ids[0]])
    for item in session.query(JobItem).filter_by(job_id=job.id):
        item.label = papers[item.position].label if item.position < n else None
    # The text held twice: its first copy unlabelled, the second labelled; the label counts.
    papers[0].label = 1
    session.query(JobItem).filter_by(job_id=job.id, position=0).update({"label": None})
    session.query(JobItem).filter_by(job_id=job.id, position=n + 1).update({"label": 1})
    other = factories.user(session, "zed@example.org", "Elsewhere")
    factories.result(session, other.team_id, model_id, title="Not ours")
    session.flush()
    return job.id, papers


def _auc(papers: list[Paper]) -> float:
    pos = [p.p for p in papers if p.label == 1]
    neg = [p.p for p in papers if p.label == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def _words(papers: list[Paper]) -> list[dict[str, Any]]:
    deltas: dict[str, list[float]] = defaultdict(list)
    holders: dict[str, set[int]] = defaultdict(set)
    for p in papers:
        for u, tokens in enumerate(p.title_units):
            for word in set(tokens):
                deltas[word].append(p.loo["title"][u])
                holders[word].add(p.result_id)
    rows = [
        {
            "word": w,
            "papers": len(holders[w]),
            "mean_delta": float(np.mean(d)),
            "mean_abs_delta": float(np.mean(np.abs(d))),
        }
        for w, d in deltas.items()
        if len(holders[w]) >= MIN_PAPERS
    ]
    return sorted(rows, key=lambda r: (-round(r["mean_abs_delta"], 9), r["word"]))


def _flips(papers: list[Paper]) -> dict[str, Any]:
    def side(x: float) -> bool:
        return x >= 0.5

    anywhere = sum(any(side(c) != side(p.p) for row in p.grid for c in row) for p in papers)
    words: dict[str, set[int]] = defaultdict(set)
    last: set[int] = set()
    for p in papers:
        g = np.array(p.grid)
        for i in range(1, g.shape[0]):
            if side(g[i, -1]) != side(g[i - 1, -1]):
                for w in set(p.title_units[i]):
                    words[w].add(p.result_id)
        if g.shape[1] > 1 and side(g[-1, -1]) != side(g[-1, -2]):
            last.add(p.result_id)
    return {"papers": anywhere, "words": {w: len(r) for w, r in words.items()}, "last": len(last)}


def test_the_view_matches_brute_force(database_url: str) -> None:
    with session_factory(database_url).begin() as session:
        member = factories.user(session, "ada@example.org", "Lab")
        model = factories.model(session)
        job_id, papers = _stored(session, member.team_id, model.id, 60)
        view = corpus_view(session, job_scope(job_id))
    p = np.array([x.p for x in papers])
    assert view["n"] == len(papers)
    counts, edges = np.histogram(p, bins=10, range=(0, 1))
    assert view["probability_histogram"] == {
        "edges": pytest.approx(edges.tolist()),
        "counts": counts.tolist(),
    }
    labelled = [x for x in papers if x.label is not None]
    said = {x.result_id: int(x.p >= 0.5) for x in labelled}
    labels = view["labels"]
    assert labels["n"] == len(labelled)
    assert labels["positives"] == sum(x.label == 1 for x in labelled)
    assert labels["roc_auc"] == pytest.approx(_auc(labelled), abs=1e-6)
    assert labels["confusion"] == {
        "tp": sum(said[x.result_id] == 1 and x.label == 1 for x in labelled),
        "fp": sum(said[x.result_id] == 1 and x.label == 0 for x in labelled),
        "tn": sum(said[x.result_id] == 0 and x.label == 0 for x in labelled),
        "fn": sum(said[x.result_id] == 0 and x.label == 1 for x in labelled),
    }
    assert labels["accuracy"] == pytest.approx(
        np.mean([said[x.result_id] == x.label for x in labelled]), abs=1e-6
    )
    wrong = sorted(
        (x for x in labelled if said[x.result_id] != x.label),
        key=lambda x: (-abs(x.p - 0.5), x.result_id),
    )
    shown = labels["misclassified"]
    assert shown["count"] == len(wrong)
    assert [m["result_id"] for m in shown["papers"]] == [x.result_id for x in wrong]
    curve = labels["roc_curve"]
    assert (curve["fpr"][0], curve["tpr"][0], curve["fpr"][-1], curve["tpr"][-1]) == (0, 0, 1, 1)
    assert curve["fpr"] == sorted(curve["fpr"]) and curve["tpr"] == sorted(curve["tpr"])

    expected = _words(papers)
    assert [w["word"] for w in view["words"]] == [w["word"] for w in expected]
    for got, want in zip(view["words"], expected, strict=True):
        assert got == {
            **want,
            "mean_delta": pytest.approx(want["mean_delta"], abs=1e-6),
            "mean_abs_delta": pytest.approx(want["mean_abs_delta"], abs=1e-6),
        }

    first = [x.loo["abstract"][0] for x in papers]
    lasts = [x.loo["abstract"][-1] for x in papers]
    start, end = (
        view["abstract_positions"]["from_start"][0],
        view["abstract_positions"]["from_end"][0],
    )
    assert (start["position"], start["papers"]) == (1, len(papers))
    assert start["mean_delta"] == pytest.approx(np.mean(first), abs=1e-6)
    assert end["mean_delta"] == pytest.approx(np.mean(lasts), abs=1e-6)
    third = [x.loo["abstract"][2] for x in papers if len(x.loo["abstract"]) > 2]
    assert view["abstract_positions"]["from_start"][2]["papers"] == len(third)

    flips = _flips(papers)
    assert view["flips"]["papers"] == flips["papers"]
    assert {w["word"]: w["papers"] for w in view["flips"]["title_words"]} == flips["words"]
    ends = {r["position"]: r["papers"] for r in view["flips"]["abstract_positions"]["from_end"]}
    assert ends.get(1, 0) == flips["last"]


def test_no_labels_no_label_section_and_history_scope(database_url: str) -> None:
    with session_factory(database_url).begin() as session:
        member = factories.user(session, "ada@example.org", "Lab")
        model = factories.model(session)
        ids = [
            factories.result(session, member.team_id, model.id, title=f"P{k}").id for k in range(4)
        ]
        job = factories.job(session, member.team_id, model.id, ids[:2])
        unlabelled = corpus_view(session, job_scope(job.id))
        later = factories.job(session, member.team_id, model.id, ids[1:3])
        session.query(JobItem).filter_by(job_id=later.id).update({"label": 0})
        everything = corpus_view(session, history_scope(member.team_id, HistoryFilter()))
    assert unlabelled["n"] == 2 and unlabelled["labels"] is None
    assert unlabelled["words"] == []  # "social" and "media" are in 2 papers: fewer than 3
    assert everything["n"] == 4
    assert (everything["labels"]["n"], everything["labels"]["positives"]) == (2, 0)
    assert everything["labels"]["roc_auc"] is None  # one class only: no curve to measure
    assert [w["word"] for w in everything["words"]] == ["social", "media"]
