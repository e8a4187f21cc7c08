"""/jobs/<id>/compare/<other id>: the same papers under two real models, computed by the
worker's own code (``process_chunk`` in this process), compared paper by paper; its CSV,
the links from the job and corpus pages, the difference view of a pair, and scoping."""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.dispatch import PROCESS_CHUNK
from shared.models import JobItem, RegisteredModel, Result
from tests.fixtures.factories import BOB, Factory, Member
from tests.fixtures.web import AuthActions, FakeCelery
from tests.worker.support import run

PAPERS = [
    {"title": "Social history of the family", "abstract": "We read archives. Society changed.",
     "label": 0},
    {"title": "Deep learning for text classification", "abstract": "We train a neural network "
     "on words. It is accurate.", "label": 1},
    {"title": "Migration and identity in cities", "abstract": "We interviewed people. They "
     "told stories.", "label": 0},
    {"title": "A fast algorithm for graph search", "abstract": "We propose an algorithm. It "
     "runs in linear time.", "label": 1},
    {"title": "Religion and politics", "abstract": "We study the church. It mattered."},
]  # fmt: skip


@functools.cache
def _engine_model(path: str) -> Any:
    from shared.engine.runtime import load_model

    return load_model(Path(path), device="cpu")


def load(row: RegisteredModel) -> Any:
    return _engine_model(row.path)


def group(client: FlaskClient, auth: dict[str, str], other: str) -> tuple[int, int]:
    body = client.post(
        "/api/v1/jobs", json={"papers": PAPERS, "models": ["default", other]}, headers=auth
    ).get_json()
    return body["group"][0]["id"], body["group"][1]["id"]


def compute(settings: Settings, broker: FakeCelery, job_id: int, leave: int = 0) -> list[int]:
    """Run the job's chunks as a worker would, leaving its last ``leave`` results pending."""
    ids = [i for t in broker.sent if t.name == PROCESS_CHUNK and t.args[0] == job_id
           for i in t.args[1]]  # fmt: skip
    outcome = run(settings, ids[: len(ids) - leave], load)
    assert not outcome.retry
    return ids[len(ids) - leave :]


def probabilities(sessions: sessionmaker[Session], job_id: int) -> list[float | None]:
    with sessions() as session:
        query = (
            select(Result.probability)
            .join(JobItem, JobItem.result_id == Result.id)
            .where(JobItem.job_id == job_id)
            .order_by(JobItem.position)
        )
        return list(session.scalars(query))


def auc(scores: list[float], labels: list[int]) -> float:
    """Mann-Whitney: the share of (positive, negative) pairs ranked right, ties half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def field(html: str, name: str) -> str:
    found = re.search(rf"data-{name}>([^<]*)<", html)
    assert found is not None, name
    return found[1].strip()


@pytest.fixture
def member(login: AuthActions) -> FlaskClient:
    return login.login()


def test_the_comparison_of_two_real_models(
    member: FlaskClient, auth: dict[str, str], settings: Settings, broker: FakeCelery,
    sessions: sessionmaker[Session], second_model: str,
) -> None:  # fmt: skip
    a, b = group(member, auth, second_model)
    compute(settings, broker, a)
    (pending,) = compute(settings, broker, b, leave=1)
    html = member.get(f"/jobs/{a}/compare/{b}").get_data(as_text=True)
    assert "4 of 5 papers compared" in html and "1 not yet done" in html
    assert html.count('class="badge badge-pending">pending') == 1
    run(settings, [pending], load)

    pa, pb = probabilities(sessions, a), probabilities(sessions, b)
    assert None not in pa + pb and pa != pb
    html = member.get(f"/jobs/{a}/compare/{b}").get_data(as_text=True)
    said = [(int(x >= 0.5), int(y >= 0.5)) for x, y in zip(pa, pb, strict=True)]  # type: ignore[operator]
    agree = sum(x == y for x, y in said)
    assert "5 of 5 papers compared" in html
    assert field(html, "agree") == f"{agree} ({100 * agree / 5:.1f}%)"
    assert field(html, "positives-a") == str(sum(x for x, _ in said))
    assert field(html, "positives-b") == str(sum(y for _, y in said))
    deltas = [abs(y - x) for x, y in zip(pa, pb, strict=True)]  # type: ignore[operator]
    assert field(html, "mean-delta") == f"{sum(deltas) / 5:.3f}"
    assert field(html, "pearson") == f"{pearson(pa, pb):.3f}"  # type: ignore[arg-type]
    labels = [0, 1, 0, 1]
    for side, ps in (("a", pa), ("b", pb)):
        right = sum(int(p >= 0.5) == y for p, y in zip(ps[:4], labels, strict=True))  # type: ignore[operator]
        assert field(html, f"accuracy-{side}") == f"{100 * right / 4:.1f}%"
        assert field(html, f"auc-{side}") == f"{auc(ps[:4], labels):.3f}"  # type: ignore[arg-type]
    # Largest |ΔP| first by default; submission order on request.
    rows = [int(p) for p in re.findall(r'<tr data-position="(\d+)"', html)]
    assert rows == sorted(range(5), key=lambda k: (-deltas[k], k))
    by_position = member.get(f"/jobs/{a}/compare/{b}?sort=position").get_data(as_text=True)
    assert re.findall(r'<tr data-position="(\d+)"', by_position) == ["0", "1", "2", "3", "4"]
    assert member.get(f"/jobs/{a}/compare/{b}?sort=p").status_code == 400

    # The CSV: every pair in submission order, with the same numbers.
    response = member.get(f"/jobs/{a}/compare/{b}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [float(r["p_a"]) for r in table] == pytest.approx(pa, abs=1e-6)
    assert [float(r["p_b"]) for r in table] == pytest.approx(pb, abs=1e-6)
    assert [(int(r["decision_a"]), int(r["decision_b"])) for r in table] == said
    assert [r["agree"] for r in table] == [str(int(x == y)) for x, y in said]
    assert [r["label"] for r in table] == ["0", "1", "0", "1", ""]

    # Each row opens the difference view of its two results: one paper, two models.
    link = re.search(r'href="(/compare\?[^"]*view=difference[^"]*)"', html)
    assert link is not None
    diff = member.get(link[1].replace("&amp;", "&")).get_data(as_text=True)
    assert "One paper under two models." in diff and ", under two models" in diff
    found = re.search(r"(\d+) of (\d+) cells are compared", diff)
    assert found is not None and found[1] == found[2]  # the same units: every cell compares
    assert "each difference is the models' alone" in diff and "What changed" not in diff
    assert "hm-cell hm-none" not in diff


def test_the_job_and_corpus_pages_link_the_comparison(
    member: FlaskClient, auth: dict[str, str], broker: FakeCelery, second_model: str
) -> None:
    a, b = group(member, auth, second_model)
    page = member.get(f"/jobs/{a}").get_data(as_text=True)
    assert "Also run under" in page and f'href="/jobs/{b}"' in page
    assert f'href="/jobs/{a}/compare/{b}"' in page and "Compare decisions" in page
    assert f'href="/jobs/{b}/compare/{a}"' in member.get(f"/jobs/{b}").get_data(as_text=True)
    corpus = member.get(f"/jobs/{a}/corpus").get_data(as_text=True)
    assert f'href="/jobs/{a}/compare/{b}"' in corpus


def test_only_two_jobs_of_the_teams_group_compare(
    member: FlaskClient, login: AuthActions, auth: dict[str, str], broker: FakeCelery,
    make: Factory, bob: Member, second_model: str,
) -> None:  # fmt: skip
    a, b = group(member, auth, second_model)
    c, _ = group(member, auth, second_model)  # another group of the same team
    single = member.post("/api/v1/jobs", json={"papers": PAPERS}, headers=auth).get_json()["id"]
    assert "Also run under" not in member.get(f"/jobs/{single}").get_data(as_text=True)
    for x, y in ((a, c), (a, a), (a, single), (single, a), (a, 10**6)):
        assert member.get(f"/jobs/{x}/compare/{y}").status_code == 404, (x, y)
        assert member.get(f"/jobs/{x}/compare/{y}.csv").status_code == 404, (x, y)
    other = login.other_browser().login(BOB)
    assert other.get(f"/jobs/{a}/compare/{b}").status_code == 404
    assert other.get(f"/jobs/{a}/compare/{b}.csv").status_code == 404


def test_the_jobs_list_links_each_grouped_job_to_its_comparison(
    member: FlaskClient, auth: dict[str, str], broker: FakeCelery, second_model: str
) -> None:
    a, b = group(member, auth, second_model)
    single = member.post("/api/v1/jobs", json={"papers": PAPERS}, headers=auth).get_json()["id"]
    page = member.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{a}/compare/{b}"' in page and f'href="/jobs/{b}/compare/{a}"' in page
    assert f"/jobs/{single}/compare/" not in page and page.count("compare with #") == 2
