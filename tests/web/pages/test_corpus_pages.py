"""The corpus page of a job, its downloads (CSV, JSON) and figures (PNG, SVG)."""

from __future__ import annotations

import csv
import io

from flask.testing import FlaskClient

from tests.fixtures.factories import Factory, Member
from tests.fixtures.web import AuthActions


def test_the_page_shows_labels_words_and_links(
    login: AuthActions, client: FlaskClient, make: Factory, ada: Member
) -> None:
    login.login()
    job_id = make.labelled_job(ada.team_id)
    job_page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/jobs/{job_id}/corpus"' in job_page
    response = client.get(f"/jobs/{job_id}/corpus")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "4 papers explained" in html
    assert '<dd id="corpus-auc">0.750</dd>' in html
    assert f'src="/jobs/{job_id}/corpus/roc.svg"' in html
    assert ">P0</a>" in html  # the one misclassified paper, linked to its result
    wrong = client.get(f"/jobs/{job_id}/corpus.json").json["labels"]["misclassified"]["papers"]
    result_page = client.get(f"/results/{wrong[0]['result_id']}").get_data(as_text=True)
    assert '<span id="result-label">labelled not computational</span>' in result_page
    assert "No title word is in 3 papers or more yet." in html  # each is in 2 papers
    assert "Last" in html and "First" in html


def test_downloads_and_figures(
    login: AuthActions, client: FlaskClient, make: Factory, ada: Member
) -> None:
    login.login()
    job_id = make.labelled_job(ada.team_id)
    body = client.get(f"/jobs/{job_id}/corpus.csv")
    assert body.mimetype == "text/csv" and "attachment" in body.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    got = {(r["section"], r["item"], r["measure"]): r["value"] for r in rows}
    assert got[("summary", "", "n")] == "4"
    assert got[("labels", "", "roc_auc")] == "0.75"
    assert got[("probability_histogram", "0.9-1", "papers")] == "4"
    assert client.get(f"/jobs/{job_id}/corpus.json").json["n"] == 4
    for figure in ("histogram", "roc"):
        png = client.get(f"/jobs/{job_id}/corpus/{figure}.png")
        assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
        svg = client.get(f"/jobs/{job_id}/corpus/{figure}.svg")
        assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_no_labels_no_roc(
    login: AuthActions, client: FlaskClient, make: Factory, ada: Member
) -> None:
    login.login()
    job_id = make.job(ada.team_id, [make.result(ada.team_id)], status="done")
    html = client.get(f"/jobs/{job_id}/corpus").get_data(as_text=True)
    assert "No paper here has a label" in html and "roc.svg" not in html
    missing = client.get(f"/jobs/{job_id}/corpus/roc.svg")
    assert missing.status_code == 404
    assert "needs labelled papers of both classes" in missing.get_data(as_text=True)


def test_another_team_s_corpus_is_absent(
    login: AuthActions, client: FlaskClient, make: Factory, bob: Member
) -> None:
    login.login()
    job_id = make.job(bob.team_id, [make.result(bob.team_id)])
    for url in (
        f"/jobs/{job_id}/corpus",
        f"/jobs/{job_id}/corpus.csv",
        f"/jobs/{job_id}/corpus/histogram.png",
    ):
        assert client.get(url).status_code == 404


def test_the_corpus_of_a_history_filter(
    login: AuthActions, client: FlaskClient, make: Factory, ada: Member
) -> None:
    login.login()
    make.labelled_job(ada.team_id)  # P0 to P3
    history = client.get("/history?q=P1").get_data(as_text=True)
    assert 'href="/history/corpus?q=P1"' in history
    html = client.get("/history/corpus?q=P1").get_data(as_text=True)
    assert "1 paper explained" in html and 'href="/history?q=P1"' in html
    assert 'src="/history/corpus/histogram.svg?q=P1"' in html
    everything = client.get("/history/corpus.json").json
    assert everything["n"] == 4 and everything["labels"]["n"] == 3
    csv_text = client.get("/history/corpus.csv?q=P1").get_data(as_text=True)
    assert "summary,,n,1" in csv_text
    assert client.get("/history/corpus/histogram.png?q=P1").data.startswith(b"\x89PNG")
    make.result(ada.team_id, title="P4")  # a new result: the cached view is not served
    assert client.get("/history/corpus.json").json["n"] == 5
