"""The traces' captions say where the value the head reads is: a backward reader's is at the
first token under final-state pooling (our models), at the last under last-output (the seed
author's layout, imported), where it has read only that token."""

from __future__ import annotations

from types import SimpleNamespace

from web.pages.result_charts import activation_view, pooling_of

TOKENS = ["social", "media", "trust"]


def activations(direction: str) -> dict[str, object]:
    feature = {
        "feature": f"abstract.{direction}.3", "field": "abstract", "direction": direction,
        "activation": 0.5, "weight": 1.0, "contribution": 0.5, "trace": [0.1, 0.2, 0.3],
    }  # fmt: skip
    return {"bias": 0.0, "top_features": [feature], "fields": {"abstract": {"tokens": TOKENS}}}


def read_at(direction: str, pooling: dict[str, str] | None) -> str:
    view = activation_view(activations(direction), pooling)
    assert view is not None
    [trace] = view["traces"]
    return str(trace["read_at"])


def test_a_backward_feature_is_read_at_the_first_token_unless_last_output() -> None:
    assert read_at("bwd", None) == "first"
    assert read_at("bwd", {"abstract": "final-state"}) == "first"
    assert read_at("bwd", {"abstract": "last-output"}) == "last"
    assert read_at("fwd", {"abstract": "final-state"}) == "last"
    assert read_at("fwd", {"abstract": "last-output"}) == "last"


def test_the_pooling_comes_from_the_models_manifest() -> None:
    imported = SimpleNamespace(
        model=SimpleNamespace(manifest={"architecture": {"pooling": {"title": "last-output"}}})
    )
    assert pooling_of(imported) == {"title": "last-output"}
    assert pooling_of(SimpleNamespace(model=SimpleNamespace(manifest=None))) == {}
