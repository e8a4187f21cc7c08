"""Numbers in query strings and URLs: anything that is not a usable id is a 400 (API) or a
page that says so, never a 500; and the submit page shows a model problem as a form error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.units import InputError
from tests.fixtures.web import AuthActions
from web.pages import submit as submit_page
from web.params import MAX_ID, IdConverter, ceil_div, positive_int

HUGE = "9" * 30
TOO_BIG = str(2**31)  # one past PostgreSQL's INTEGER, the type of every id column


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("7", 7), (" 12 ", 12), (None, None), ("", None), ("0", None), ("-3", None), ("²", None),
     ("١٢", None), ("1e3", None), (HUGE, None), (str(MAX_ID), MAX_ID),
     (str(MAX_ID + 1), None)],
)  # fmt: skip
def test_positive_int(raw: str | None, expected: int | None) -> None:
    assert positive_int(raw, None) == expected


def test_positive_int_default_and_maximum() -> None:
    assert positive_int("abc", 1) == 1 and positive_int("11", 1, maximum=10) == 1


@pytest.mark.parametrize("value", ["²", HUGE, "0"])
def test_api_page_numbers_are_400(client: FlaskClient, auth: dict[str, str], value: str) -> None:
    for name in ("page", "per_page"):
        response = client.get(f"/api/v1/jobs?{name}={value}", headers=auth)
        assert response.status_code == 400 and response.json["error"].startswith(name)


@pytest.mark.parametrize(
    "path",
    ["/compare?a=²&b=1", f"/compare?a={HUGE}&b=1", f"/compare?a=1&b={HUGE}",
     "/jobs?page=²", f"/jobs?page={HUGE}", "/history?model=²", f"/history?submitter={HUGE}",
     f"/history?after=2026-01-01T00:00:00_{HUGE}", f"/compare?a={TOO_BIG}&b=1",
     f"/history?model={TOO_BIG}", f"/history?after=2026-01-01T00:00:00_{TOO_BIG}"],
)  # fmt: skip
def test_pages_with_bad_numbers_still_answer(login: AuthActions, path: str) -> None:
    assert_answers(login.login().get(path), path)


def assert_answers(response: Any, path: str) -> None:
    """The page, not an error: a bad number reads as absent. Compare still names result 1,
    which does not exist here, so it answers its form (kept) with a 404."""
    if path.startswith("/compare"):
        assert response.status_code == 404 and 'id="compare-form"' in response.get_data(True)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/jobs/{HUGE}", f"/api/v1/results/{HUGE}", f"/jobs/{HUGE}",
     f"/api/v1/jobs/{TOO_BIG}", f"/api/v1/jobs/{TOO_BIG}/cancel",
     f"/api/v1/results/{TOO_BIG}/heatmap.svg", f"/results/{TOO_BIG}", f"/jobs/{TOO_BIG}"],
)  # fmt: skip
def test_ids_too_big_for_the_database_are_404(
    client: FlaskClient, login: AuthActions, auth: dict[str, str], path: str
) -> None:
    if not path.startswith("/api"):
        login.login()
    method = client.post if path.endswith("/cancel") else client.get
    assert method(path, headers=auth).status_code == 404


def id_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, rule) of every route taking an ``<id:...>``: the whole url_map, not a list."""
    return [
        (next(m for m in ("GET", "POST") if m in (rule.methods or ())), rule.rule)
        for rule in app.url_map.iter_rules()
        if "<id:" in rule.rule
    ]


def filled(rule: str, number: int) -> str:
    path = re.sub(r"<id:\w+>", str(number), rule)
    return re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", path)  # heatmap.<any(png, svg):fmt> -> png


@pytest.mark.parametrize("number", [MAX_ID, 2**31, 2**40])
def test_every_id_route_answers_404_for_ids_no_row_can_have(
    app: Flask, client: FlaskClient, login: AuthActions, auth: dict[str, str], number: int
) -> None:
    """Primary keys are INTEGER: past 2**31 - 1 PostgreSQL would fail on the id (a 500)."""
    routes = id_routes(app)
    assert len(routes) >= 15 and ("POST", "/api/v1/jobs/<id:job_id>/cancel") in routes
    login.login()
    answers = {
        rule: client.open(filled(rule, number), method=method, headers=auth).status_code
        for method, rule in routes
    }
    assert answers == dict.fromkeys(answers, 404)


@pytest.mark.parametrize("number", [2**31, 2**40])
@pytest.mark.parametrize(
    "query",
    ["/compare?a={n}&b=1", "/history?submitter={n}", "/history?model={n}",
     "/history?after=2026-01-01T00:00:00_{n}"],
)  # fmt: skip
def test_query_ids_past_integer_are_ignored(login: AuthActions, query: str, number: int) -> None:
    assert_answers(login.login().get(query.format(n=number)), query)


def test_submit_page_shows_a_model_problem_as_a_form_error(
    client: FlaskClient, login: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    def changed(*_a: Any, **_k: Any) -> None:
        raise InputError("the model's files changed since it was registered", "model")

    monkeypatch.setattr(submit_page, "start_job", changed)
    login.login()
    data = {"title": "Social media", "abstract": "We study social media.", "action": "submit"}
    response = client.post("/submit", data=data)
    assert response.status_code == 400
    assert "files changed since it was registered" in response.text


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 20, 0), (1, 20, 1), (20, 20, 1), (21, 20, 2), (899, 60, 15), (10**30 + 1, 10**30, 2)],
)
def test_ceil_div(numerator: int, denominator: int, expected: int) -> None:
    assert ceil_div(numerator, denominator) == expected


def test_routes_take_ids_through_the_capped_converter(app: Flask) -> None:
    """``<int:...>`` is Werkzeug's own, uncapped: a too-big id would reach the database."""
    for rule in app.url_map.iter_rules():
        assert "<int:" not in rule.rule, rule.rule
    assert app.url_map.converters["id"] is IdConverter
