"""Model.split: the units mapping, and boilerplate left out before the model reads a field."""

from __future__ import annotations

import pytest

from shared.engine import explain, load_model
from shared.engine.export import to_json
from shared.units import DEFAULT_UNITS, boilerplate_option

TITLE = "Internet coverage and coverage bias in Europe"  # labelled
TOL = 1e-5


@pytest.fixture(scope="module")
def default_model(default_model_dir):
    return load_model(default_model_dir, device="cpu")


def test_a_placeholder_abstract_is_scored_as_empty(default_model) -> None:
    paper = {"title": TITLE, "abstract": "[No abstract available]"}
    [e] = explain(default_model, [paper])
    title, abstract = e.grid.fields
    assert abstract.read_as_nothing and abstract.units == [[]]
    assert e.grid.probabilities.shape == (len(title.units), 1)
    expected = default_model.predict_batch([{"title": title.tokens, "abstract": []}])[0]
    assert abs(e.grid.probability - float(expected)) < TOL
    assert e.leave_one_out["abstract"].tolist() == [0.0]
    data = to_json(e)
    assert data["read_as_nothing"] == ["abstract"]
    assert data["left_out"]["abstract"] == [
        {"rule": "placeholder", "text": "[No abstract available]"}
    ]


def test_the_units_mapping_keeps_boilerplate(default_model) -> None:
    paper = {"title": TITLE, "abstract": "We compared countries. Copyright 2013 ACM."}
    units = {**DEFAULT_UNITS, **boilerplate_option(True)}
    [kept] = explain(default_model, [paper], units=units, activations=False)
    [left] = explain(default_model, [paper], activations=False)
    assert kept.grid.fields[1].labels == ["We compared countries.", "Copyright 2013 ACM."]
    assert left.grid.fields[1].labels == ["We compared countries."]
    assert left.grid.fields[1].removed == [("copyright", "Copyright 2013 ACM.")]
