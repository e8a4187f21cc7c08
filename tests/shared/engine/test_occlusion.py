"""The occlusion engine against brute force: one plain forward pass per cell or per deletion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.engine.classifier import Architecture, Classifier
from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import explain, occlusion_grid, occlusion_grids
from shared.engine.export import to_json
from shared.engine.runtime import Model, load_model
from shared.text import tokenize
from tests.conftest import TOY_ABSTRACT, TOY_TITLE

TOL = 1e-5


def brute_grid(model: Model, grid) -> np.ndarray:
    """P for every cell, each by its own plain forward pass over the prefix tokens."""
    rows, cols = grid.fields
    out = np.empty((len(rows.units), len(cols.units)))
    for i in range(len(rows.units)):
        for j in range(len(cols.units)):
            doc = {"title": rows.tokens_upto(i), "abstract": cols.tokens_upto(j)}
            out[i, j] = model.predict_batch([doc])[0]
    return out


def brute_leave_one_out(model: Model, grid) -> dict[str, np.ndarray]:
    """delta P with each unit's tokens truly removed from its field's token list."""
    title, abstract = grid.fields
    full_doc = {"title": title.tokens, "abstract": abstract.tokens}
    full = model.predict_batch([full_doc])[0]
    out = {}
    for fu in grid.fields:
        deltas = []
        for u in range(len(fu.units)):
            kept = [t for k, unit in enumerate(fu.units) if k != u for t in unit]
            deltas.append(model.predict_batch([{**full_doc, fu.name: kept}])[0] - full)
        out[fu.name] = np.array(deltas)
    return out


def random_model(base: Model, num_layers: int, seed: int) -> Model:
    """An untrained classifier of ``num_layers`` layers over ``base``'s word vectors."""
    torch.manual_seed(seed)
    arch = Architecture(vector_size=base.vectors.vector_size, hidden_size=6, num_layers=num_layers)
    classifier = Classifier(arch)
    with torch.no_grad():  # a sharper head, so P moves well away from 0.5 across cells
        classifier.head.weight.mul_(8.0)
    return Model(classifier, base.vectors, {"name": f"random-{num_layers}"}, torch.device("cpu"))


@pytest.fixture(scope="module")
def papers(data_path) -> list[dict[str, str]]:
    found = read_labelled_csv(data_path, limit=20, seed=5)
    assert len(found) == 20
    return [{"title": p.title, "abstract": p.abstract} for p in found]


@pytest.fixture(scope="module", params=[1, 3], ids=["1-layer", "3-layer"])
def layered_model(request, tiny_model) -> Model:
    return random_model(tiny_model, request.param, seed=request.param)


# --- Grids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("abstract_unit", ["sentence", "word"])
def test_toy_grid_equals_brute_force(tiny_model, abstract_unit):
    grid = occlusion_grid(tiny_model, TOY_TITLE, TOY_ABSTRACT, abstract_unit=abstract_unit)
    expected = brute_grid(tiny_model, grid)
    assert grid.probabilities.shape == expected.shape
    np.testing.assert_allclose(grid.probabilities, expected, atol=TOL, rtol=0)
    # The grid is not trivially flat: otherwise the comparison above would prove little.
    assert np.ptp(expected) > 1e-3


def test_toy_title_starts_out_of_vocabulary(tiny_model):
    """A prefix of zero known words reads as nothing (zero features), as in the plain model."""
    assert "exploration" not in tiny_model.vocab
    grid = occlusion_grid(tiny_model, TOY_TITLE, TOY_ABSTRACT)
    assert grid.fields[0].prefix_lengths[0] == 0
    expected = brute_grid(tiny_model, grid)
    np.testing.assert_allclose(grid.probabilities[0], expected[0], atol=TOL, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("title_unit, abstract_unit", [("word", "sentence"), ("sentence", "word")])
def test_labelled_grids_equal_brute_force(tiny_model, papers, title_unit, abstract_unit):
    chosen = papers if abstract_unit == "sentence" else papers[:4]
    grids = occlusion_grids(tiny_model, chosen, title_unit, abstract_unit)
    assert len(grids) == len(chosen)
    for paper, grid in zip(chosen, grids, strict=True):
        expected = brute_grid(tiny_model, grid)
        np.testing.assert_allclose(grid.probabilities, expected, atol=TOL, rtol=0)
        assert grid.probability == pytest.approx(
            tiny_model.predict(paper["title"], paper["abstract"]), abs=TOL
        )


@pytest.mark.slow
@pytest.mark.parametrize("abstract_unit", ["sentence", "word"])
def test_layer_counts_grid_equals_brute_force(layered_model, papers, abstract_unit):
    chosen = papers[:8] if abstract_unit == "sentence" else papers[:1]
    chosen = [{"title": TOY_TITLE, "abstract": TOY_ABSTRACT}, *chosen]
    grids = occlusion_grids(layered_model, chosen, abstract_unit=abstract_unit)
    spread = 0.0
    for grid in grids:
        expected = brute_grid(layered_model, grid)
        np.testing.assert_allclose(grid.probabilities, expected, atol=TOL, rtol=0)
        spread = max(spread, float(np.ptp(expected)))
    assert spread > 1e-3


def test_batched_grids_equal_one_by_one(tiny_model, papers):
    batched = occlusion_grids(tiny_model, papers)
    for paper, grid in zip(papers, batched, strict=True):
        alone = occlusion_grid(tiny_model, paper["title"], paper["abstract"])
        assert grid.probabilities.shape == alone.probabilities.shape
        np.testing.assert_allclose(grid.probabilities, alone.probabilities, atol=TOL, rtol=0)


def test_grid_shape_and_last_cell(tiny_model, papers):
    for paper in [{"title": TOY_TITLE, "abstract": TOY_ABSTRACT}, *papers[:6]]:
        grid = occlusion_grid(tiny_model, paper["title"], paper["abstract"])
        assert grid.probabilities.shape == (len(grid.title_units), len(grid.abstract_units))
        full = tiny_model.predict(paper["title"], paper["abstract"])
        assert grid.probabilities[-1, -1] == pytest.approx(full, abs=TOL)
        assert grid.probability == pytest.approx(full, abs=TOL)
        assert grid.model_name == tiny_model.name


def test_toy_grid_units(tiny_model):
    grid = occlusion_grid(tiny_model, TOY_TITLE, TOY_ABSTRACT)
    assert grid.title_units == [[w] for w in tokenize(TOY_TITLE)]
    assert len(grid.abstract_units) == 4
    assert grid.abstract_units[3] == tokenize("Our code can be found on Github.")


# --- Leave-one-out --------------------------------------------------------------------------


@pytest.mark.parametrize("abstract_unit", ["sentence", "word"])
def test_toy_leave_one_out_equals_brute_force(tiny_model, abstract_unit):
    (e,) = explain(tiny_model, [(TOY_TITLE, TOY_ABSTRACT)], abstract_unit=abstract_unit)
    expected = brute_leave_one_out(tiny_model, e.grid)
    assert set(e.leave_one_out) == {"title", "abstract"}
    for field in ("title", "abstract"):
        assert e.leave_one_out[field].shape == expected[field].shape
        np.testing.assert_allclose(e.leave_one_out[field], expected[field], atol=TOL, rtol=0)
    # Removing an out-of-vocabulary word changes nothing, exactly.
    assert e.leave_one_out["title"][0] == 0.0
    assert np.abs(expected["abstract"]).max() > 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("title_unit, abstract_unit", [("word", "sentence"), ("sentence", "word")])
def test_labelled_leave_one_out_equals_brute_force(
    tiny_model, layered_model, papers, title_unit, abstract_unit
):
    """1, 2 and 3 layers; every unit of every field, so units at the start, middle and end."""
    chosen = papers[:10] if abstract_unit == "sentence" else papers[:2]
    for model in (tiny_model, layered_model):
        spread = 0.0
        for e in explain(model, chosen, title_unit, abstract_unit, activations=False):
            expected = brute_leave_one_out(model, e.grid)
            for field in ("title", "abstract"):
                np.testing.assert_allclose(
                    e.leave_one_out[field], expected[field], atol=TOL, rtol=0
                )
                spread = max(spread, float(np.abs(expected[field]).max()))
        assert spread > 1e-3


@pytest.mark.parametrize("title_unit", ["word", "sentence"])
def test_leave_one_out_of_the_only_known_unit(tiny_model, title_unit):
    """Removing the one unit with known words leaves a field that reads as nothing."""
    (e,) = explain(tiny_model, [("society", TOY_ABSTRACT)], title_unit=title_unit)
    assert len(e.grid.title_units) == 1
    expected = brute_leave_one_out(tiny_model, e.grid)
    np.testing.assert_allclose(e.leave_one_out["title"], expected["title"], atol=TOL, rtol=0)
    assert abs(expected["title"][0]) > 1e-4


def test_leave_one_out_of_a_one_sentence_abstract(layered_model):
    (e,) = explain(layered_model, [(TOY_TITLE, "We used methods and techniques.")])
    assert len(e.grid.abstract_units) == 1
    expected = brute_leave_one_out(layered_model, e.grid)
    for field in ("title", "abstract"):
        np.testing.assert_allclose(e.leave_one_out[field], expected[field], atol=TOL, rtol=0)


def test_leave_one_out_of_units_of_unknown_words_only(layered_model):
    """A unit with no known word changes nothing, exactly, wherever it stands."""
    abstract = "Qwzx vbnm. We used methods and techniques. Plokij uhyg. Our code is on Github. Zzq."
    (e,) = explain(layered_model, [(TOY_TITLE, abstract)])
    known = [any(t in layered_model.vocab for t in unit) for unit in e.grid.fields[1].units]
    assert known == [False, True, False, True, False]
    deltas = e.leave_one_out["abstract"]
    assert [d == 0.0 for d in deltas] == [not k for k in known]
    expected = brute_leave_one_out(layered_model, e.grid)
    np.testing.assert_allclose(deltas, expected["abstract"], atol=TOL, rtol=0)


# --- Activations ----------------------------------------------------------------------------


def test_activations_add_up_to_the_logit(tiny_model, papers):
    hidden = tiny_model.classifier.arch.hidden_size
    chosen = [{"title": TOY_TITLE, "abstract": TOY_ABSTRACT}, *papers[:5]]
    for paper, e in zip(chosen, explain(tiny_model, chosen), strict=True):
        a = e.activations
        assert a is not None
        p = tiny_model.predict(paper["title"], paper["abstract"])
        assert a.contributions.sum() + a.bias == pytest.approx(np.log(p / (1 - p)), abs=1e-4)
        assert len(a.feature_names) == len(a.features) == 4 * hidden
        for name, fa in a.fields.items():
            n_known = len(e.grid.fields[0 if name == "title" else 1].known_tokens(tiny_model.vocab))
            assert len(fa.tokens) == n_known
            assert fa.forward.shape == (n_known, hidden)
            assert fa.backward.shape == (n_known, hidden)
            assert fa.running_probability.shape == (n_known,)
            assert fa.running_probability[-1] == pytest.approx(p, abs=TOL)


def test_running_probability_equals_brute_force(tiny_model):
    (e,) = explain(tiny_model, [(TOY_TITLE, TOY_ABSTRACT)])
    fa = e.activations.fields["abstract"]
    title = e.grid.fields[0].tokens
    for k in range(1, len(fa.tokens) + 1):
        doc = {"title": title, "abstract": fa.tokens[:k]}
        assert fa.running_probability[k - 1] == pytest.approx(
            tiny_model.predict_batch([doc])[0], abs=TOL
        )


def test_activation_outputs_match_the_features(tiny_model):
    """The forward direction's last output and the backward's first are the final state."""
    hidden = tiny_model.classifier.arch.hidden_size
    (e,) = explain(tiny_model, [(TOY_TITLE, TOY_ABSTRACT)])
    a = e.activations
    for n, name in enumerate(("title", "abstract")):
        fa = a.fields[name]
        start = n * 2 * hidden
        np.testing.assert_allclose(a.features[start : start + hidden], fa.forward[-1], atol=1e-6)
        np.testing.assert_allclose(
            a.features[start + hidden : start + 2 * hidden], fa.backward[0], atol=1e-6
        )


def test_ranked_orders_by_absolute_contribution(tiny_model):
    (e,) = explain(tiny_model, [(TOY_TITLE, TOY_ABSTRACT)])
    a = e.activations
    order = a.ranked()
    assert sorted(order) == list(range(len(a.features)))
    magnitudes = np.abs(a.contributions)[order]
    assert np.all(np.diff(magnitudes) <= 0)
    assert a.ranked(5) == order[:5]
    assert magnitudes[0] == np.abs(a.contributions).max()


# --- Padding independence -------------------------------------------------------------------


def test_probability_independent_of_batch_padding(tiny_model, papers):
    short = {"title": tokenize("society and humans"), "abstract": tokenize("we used methods")}
    longest = sorted(papers, key=lambda p: len(p["abstract"]))[-3:]
    long_docs = [
        {"title": tokenize(p["title"] + " " + p["title"]), "abstract": tokenize(p["abstract"])}
        for p in longest
    ]
    alone = tiny_model.predict_batch([short])[0]
    together = tiny_model.predict_batch([long_docs[0], short, *long_docs[1:]])
    assert together[1] == pytest.approx(alone, abs=1e-6)
    for i, doc in enumerate(long_docs):
        mixed = together[0] if i == 0 else together[i + 1]
        assert mixed == pytest.approx(tiny_model.predict_batch([doc])[0], abs=1e-6)


def test_grid_independent_of_batch_padding(layered_model, papers):
    longest = sorted(papers, key=lambda p: len(p["abstract"]))[-2:]
    alone = occlusion_grid(layered_model, TOY_TITLE, TOY_ABSTRACT)
    batch = occlusion_grids(layered_model, [longest[0], (TOY_TITLE, TOY_ABSTRACT), longest[1]])
    np.testing.assert_allclose(batch[1].probabilities, alone.probabilities, atol=TOL, rtol=0)


# --- The trained default model --------------------------------------------------------------


@pytest.mark.slow
def test_default_model_toy_grid_equals_brute_force(default_model_dir):
    model = load_model()
    grid = occlusion_grid(model, TOY_TITLE, TOY_ABSTRACT)
    np.testing.assert_allclose(grid.probabilities, brute_grid(model, grid), atol=TOL, rtol=0)
    assert grid.probability == pytest.approx(model.predict(TOY_TITLE, TOY_ABSTRACT), abs=TOL)


@pytest.mark.slow
def test_default_model_leave_one_out_equals_brute_force(default_model_dir, papers):
    model = load_model()
    for e in explain(model, papers[:6], activations=False):
        expected = brute_leave_one_out(model, e.grid)
        for field in ("title", "abstract"):
            np.testing.assert_allclose(e.leave_one_out[field], expected[field], atol=TOL, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_grids_agree_with_cpu(default_model_dir):
    cpu = load_model(default_model_dir, device="cpu")
    gpu = load_model(default_model_dir, device="cuda")
    papers = [(TOY_TITLE, TOY_ABSTRACT), ("Deep learning of text", "We train a network. It works.")]
    for a, b in zip(occlusion_grids(cpu, papers), occlusion_grids(gpu, papers), strict=True):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-4)


def test_a_field_of_unknown_words_is_read_as_nothing(tiny_model) -> None:
    """A real labelled title the model knows no word of: scored with that field empty."""
    paper = {"title": "Psychotherapeutic proesses", "abstract": TOY_ABSTRACT}
    [e] = explain(tiny_model, [paper])
    title, abstract = tiny_model.split(paper, {"title": "word", "abstract": "sentence"})
    assert title.read_as_nothing and not abstract.read_as_nothing
    assert e.grid.probabilities.shape == (1, len(abstract.units))
    expected = tiny_model.predict_batch([{"title": [], "abstract": abstract.tokens}])[0]
    assert abs(e.grid.probability - float(expected)) < TOL
    assert e.leave_one_out["title"].tolist() == [0.0]
    assert to_json(e)["read_as_nothing"] == ["title"]
    assert e.activations is not None and e.activations.fields["title"].tokens == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_leave_one_out_agrees_with_cpu(default_model_dir):
    cpu = load_model(default_model_dir, device="cpu")
    gpu = load_model(default_model_dir, device="cuda")
    papers = [(TOY_TITLE, TOY_ABSTRACT), ("Deep learning of text", "We train a network. It works.")]
    on_cpu = explain(cpu, papers, abstract_unit="word", activations=False)
    on_gpu = explain(gpu, papers, abstract_unit="word", activations=False)
    for a, b in zip(on_cpu, on_gpu, strict=True):
        for field in ("title", "abstract"):
            np.testing.assert_allclose(a.leave_one_out[field], b.leave_one_out[field], atol=1e-4)
