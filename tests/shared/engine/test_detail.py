"""The bulk profile (contributions, no traces) and traces computed later, against ``explain``."""

from __future__ import annotations

import numpy as np
import pytest

from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import activation_traces, explain
from shared.engine.export import activations_json, to_json
from shared.engine.runtime import Model, load_model
from tests.conftest import TOY_ABSTRACT, TOY_TITLE


@pytest.fixture(scope="module")
def engine_model(default_model_dir) -> Model:
    return load_model(default_model_dir, device="cpu")


@pytest.fixture(scope="module")
def papers(data_path) -> list[dict[str, str]]:
    found = read_labelled_csv(data_path, limit=6, seed=11)
    return [{"title": TOY_TITLE, "abstract": TOY_ABSTRACT}] + [
        {"title": p.title, "abstract": p.abstract} for p in found
    ]


def _without_traces(data: dict) -> dict:
    top = [{k: v for k, v in f.items() if k != "trace"} for f in data["top_features"]]
    return {"bias": data["bias"], "top_features": top}


def test_the_bulk_profile_keeps_grid_loo_and_contributions(engine_model: Model, papers):
    full = explain(engine_model, papers)
    bulk = explain(engine_model, papers, detail="bulk")
    for f, b in zip(full, bulk, strict=True):
        assert f.activations is not None and b.activations is not None
        assert b.activations.fields is None
        np.testing.assert_array_equal(b.grid.probabilities, f.grid.probabilities)
        for name, deltas in f.leave_one_out.items():
            np.testing.assert_array_equal(b.leave_one_out[name], deltas)
        np.testing.assert_array_equal(b.activations.features, f.activations.features)
        np.testing.assert_array_equal(b.activations.contributions, f.activations.contributions)
        bulk_json = activations_json(b.activations, full=False)
        assert _without_traces(bulk_json) == _without_traces(activations_json(f.activations))
        assert {t["trace"] for t in bulk_json["top_features"]} == {None}
        assert bulk_json["fields"] == {
            n: {"tokens": None, "running_probability": None} for n in ("title", "abstract")
        }


def test_traces_computed_later_equal_explains(engine_model: Model, papers):
    later = activation_traces(engine_model, papers)
    for e, a in zip(explain(engine_model, papers), later, strict=True):
        assert e.activations is not None and e.activations.fields and a.fields
        np.testing.assert_array_equal(a.features, e.activations.features)
        for name, fa in e.activations.fields.items():
            assert a.fields[name].tokens == fa.tokens
            np.testing.assert_array_equal(a.fields[name].forward, fa.forward)
            np.testing.assert_array_equal(a.fields[name].backward, fa.backward)
            np.testing.assert_array_equal(
                a.fields[name].running_probability, fa.running_probability
            )
        assert activations_json(a) == activations_json(e.activations)


def test_explain_computes_everything_by_default(engine_model: Model):
    (e,) = explain(engine_model, [(TOY_TITLE, TOY_ABSTRACT)])
    data = to_json(e)["activations"]
    assert all(f["trace"] for f in data["top_features"])
    assert all(v["running_probability"] and v["forward"] for v in data["fields"].values())


def test_an_unknown_detail_is_refused(engine_model: Model):
    with pytest.raises(ValueError, match="detail must be one of bulk, full"):
        explain(engine_model, [(TOY_TITLE, TOY_ABSTRACT)], detail="some")
