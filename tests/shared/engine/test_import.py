"""Importing a model in the seed author's layout: after its source files are deleted, the
imported model's grid, leave-one-out, faithfulness and contributions equal the author's
forward pass per cell, for 1-3 layers, one or two directions, both poolings and both head
sizes; and every bad checkpoint, vectors file or spec is refused in one line naming the key."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import explain
from shared.engine.faithfulness import QS, top_k
from shared.engine.import_spec import ImportProblem
from shared.engine.importer import import_model
from shared.engine.runtime import load_model
from tests.shared.engine.seed_layout import (
    Layout,
    Reference,
    seed_net,
    vocabulary,
    write_sources,
)

TOL = 1e-5
LAYOUTS = [
    Layout(layers, bidirectional, pooling, outputs)
    for layers, bidirectional, pooling, outputs in itertools.product(
        [1, 2, 3], [True, False], ["last-output", "final-state"], [2, 1]
    )
]


def layout_id(layout: Layout) -> str:
    kind = "bi" if layout.bidirectional else "uni"
    return f"{layout.layers}-{kind}-{layout.pooling}-{layout.outputs}out"


@pytest.fixture(scope="module")
def papers(data_path: Path) -> list[dict[str, str]]:
    found = read_labelled_csv(data_path, limit=3, seed=11)
    return [{"title": p.title, "abstract": p.abstract} for p in found]


def imported(tmp: Path, layout: Layout, papers, binary: bool = False, positive: int = 1):
    """Write the author's files, import them, delete them; (model, the author's reference)."""
    net, kv = seed_net(layout, seed=layout.layers), vocabulary(papers, layout.dims)
    sources = write_sources(tmp, net, kv, layout.spec(positive), binary)
    import_model(*sources, out=tmp / "model", name="seed", version="1")
    for path in sources:
        path.unlink()
    return load_model(tmp / "model", device="cpu"), Reference(net, kv, positive)


def assert_faithfulness_matches(ex, reference: Reference) -> None:
    """The deletion curve, comprehensiveness and sufficiency by the author's forward pass."""
    f = ex.faithfulness
    assert f is not None

    def p(chosen: set[tuple[int, int]], keep_chosen: bool) -> float:
        """P of the predicted class keeping the units in ``chosen`` or the others."""
        kept = [
            [
                t
                for u, unit in enumerate(fu.units)
                if ((g, u) in chosen) == keep_chosen
                for t in unit
            ]
            for g, fu in enumerate(ex.grid.fields)
        ]
        value = reference.probability(*kept)
        return value if f.predicted else 1.0 - value

    full = p(set(), False)
    for k in range(1, len(f.ranking) + 1):
        assert f.deletion_curve[k - 1] == pytest.approx(p(set(f.ranking[:k]), False), abs=TOL)
    for q in QS:
        top = set(f.ranking[: top_k(q, len(f.ranking))])
        assert f.comprehensiveness[q] == pytest.approx(full - p(top, False), abs=TOL)
        assert f.sufficiency[q] == pytest.approx(full - p(top, True), abs=TOL)


def assert_explanations_match(model, reference: Reference, papers) -> None:
    spread = []
    for ex in explain(model, papers, detail="full"):
        title, abstract = ex.grid.fields
        expected = np.array(
            [
                [
                    reference.probability(title.tokens_upto(i), abstract.tokens_upto(j))
                    for j in range(len(abstract.units))
                ]
                for i in range(len(title.units))
            ]
        )
        np.testing.assert_allclose(ex.grid.probabilities, expected, atol=TOL, rtol=0)
        spread.append(np.ptp(expected))
        full = reference.probability(title.tokens, abstract.tokens)
        for fu in (title, abstract):
            for u, delta in enumerate(ex.leave_one_out[fu.name]):
                kept = [t for k, unit in enumerate(fu.units) if k != u for t in unit]
                doc = {"title": title.tokens, "abstract": abstract.tokens, fu.name: kept}
                assert delta == pytest.approx(
                    reference.probability(doc["title"], doc["abstract"]) - full, abs=TOL
                )
        assert_faithfulness_matches(ex, reference)
        acts = ex.activations
        assert acts is not None
        logit = float(acts.contributions.sum()) + acts.bias
        assert logit == pytest.approx(reference.logit(title.tokens, abstract.tokens), abs=TOL)
    assert max(spread) > 1e-3  # not flat: the comparison above proves something


@pytest.mark.parametrize("layout", LAYOUTS, ids=layout_id)
def test_imported_model_explains_as_the_authors_forward_pass(tmp_path, papers, layout):
    model, reference = imported(tmp_path, layout, papers)
    assert model.classifier.arch.pooling == {"title": layout.pooling, "abstract": layout.pooling}
    assert_explanations_match(model, reference, papers)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_seed_layout_from_text_and_binary_word2vec(tmp_path, papers, binary):
    model, reference = imported(tmp_path, Layout(layers=2), papers, binary=binary)
    manifest = model.manifest
    assert manifest["imported"]["sources"]["vectors"]["format"] == ("binary" if binary else "text")
    assert set(manifest["imported"]["sources"]) == {"checkpoint", "vectors", "spec"}
    assert_explanations_match(model, reference, papers)


def test_positive_class_zero_reads_the_other_class(tmp_path, papers):
    for outputs in (2, 1):
        sub = tmp_path / str(outputs)
        sub.mkdir()
        model, reference = imported(sub, Layout(outputs=outputs), papers, positive=0)
        assert_explanations_match(model, reference, papers[:1])


def test_vectors_are_lower_cased_keeping_the_first(tmp_path, papers):
    from gensim.models import KeyedVectors

    layout = Layout()
    kv = KeyedVectors(vector_size=layout.dims)
    kv.add_vectors(["Social", "social", "media"], np.eye(3, layout.dims, dtype=np.float32))
    sources = write_sources(tmp_path, seed_net(layout), kv, layout.spec(), binary=False)
    import_model(*sources, out=tmp_path / "model", name="seed", version="1")
    model = load_model(tmp_path / "model", device="cpu")
    assert list(model.vocab) == ["social", "media"]
    np.testing.assert_array_equal(model.vectors.vectors[0], np.eye(3, layout.dims)[0])


# --- Refusals -------------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path, papers) -> tuple[Path, Path, Path]:
    layout = Layout(layers=2)
    return write_sources(tmp_path, seed_net(layout), vocabulary(papers), layout.spec(), False)


def refused(sources, *fragments: str, out: Path | None = None) -> str:
    checkpoint, vectors, spec = sources
    target = out or checkpoint.parent / "model"
    with pytest.raises(ImportProblem) as info:
        import_model(checkpoint, vectors, spec, target, "seed", "1")
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert not target.exists() or out is not None  # nothing half-written
    return message


def edit_spec(sources, **changes: object) -> None:
    spec = json.loads(sources[2].read_text())
    spec.update(changes)
    sources[2].write_text(json.dumps(spec))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's, on refusing it
def test_a_pickled_object_is_never_unpickled(sources, tmp_path):
    marker = tmp_path / "unpickled"

    class Boom:  # unpickling this would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"lstmAb.weight_ih_l0": Boom()}, sources[0])
    refused(sources, "not a plain state_dict", "weights_only")
    sources[0].write_bytes(pickle.dumps(Boom()))
    refused(sources, "not a plain state_dict")
    assert not marker.exists()


def test_a_whole_saved_module_is_refused(sources, papers):
    torch.save(seed_net(Layout(layers=2)), sources[0])  # torch.save(model), not its state_dict
    refused(sources, "not a plain state_dict", "torch.save(model.state_dict())")


def test_a_checkpoint_of_other_things_is_refused(sources):
    torch.save({"epoch": 3, "state": {}}, sources[0])
    refused(sources, "not a state_dict of tensors")


def test_gensims_pickled_vectors_are_refused(sources, papers):
    vocabulary(papers).save(str(sources[1]))  # KeyedVectors.save pickles
    refused(sources, "not a word2vec file")


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"colour": "blue"}, ["unknown key 'colour'"]),
        ({"head_order": ["abstract"]}, ["'head_order'"]),
        ({"positive_class": 2}, ["'positive_class'"]),
        ({"head": "classifier"}, ["no nn.Linear 'classifier'", "classifier.weight"]),
        ({"fields": {"title": {"lstm": "lstmTi", "pooling": "mean"}}}, ["'fields'"]),
        ({"lowercase": "yes"}, ["'lowercase'"]),
    ],
)
def test_bad_specs_name_the_key(sources, change, fragments):
    edit_spec(sources, **change)
    refused(sources, *fragments)


def test_a_bad_pooling_or_lstm_name_names_the_key(sources):
    spec = json.loads(sources[2].read_text())
    spec["fields"]["title"]["pooling"] = "mean"
    sources[2].write_text(json.dumps(spec))
    refused(sources, "'fields.title.pooling'", "last-output")
    spec["fields"]["title"] = {"lstm": "lstmTitle", "pooling": "last-output"}
    sources[2].write_text(json.dumps(spec))
    refused(sources, "no nn.LSTM 'lstmTitle'", "lstmAb, lstmTi")


def test_mismatched_shapes_name_the_key_and_shapes(sources):
    state = torch.load(sources[0], weights_only=True)
    bad = dict(state, **{"lstmTi.weight_hh_l1": torch.zeros(16, 3)})
    torch.save(bad, sources[0])
    refused(sources, "lstmTi.weight_hh_l1", "(16, 3)", "(16, 4)")
    bad = dict(state, **{"fc.weight": torch.zeros(2, 12)})
    torch.save(bad, sources[0])
    refused(sources, "fc.weight", "(2, 12)", "16", "abstract 8 + title 8")
    bad = dict(state, **{"fc.weight": torch.zeros(3, 16)})
    torch.save(bad, sources[0])
    refused(sources, "fc.weight", "(3, 16)")
    torch.save({k: v for k, v in state.items() if k != "lstmAb.bias_ih_l1"}, sources[0])
    refused(sources, "lacks lstmAb.bias_ih_l1")
    torch.save(dict(state, **{"embedding.weight": torch.zeros(3, 5)}), sources[0])
    refused(sources, "embedding.weight", "read by nothing")


def test_vectors_of_another_size_name_the_key(sources, papers):
    vocabulary(papers, dims=7).save_word2vec_format(str(sources[1]))
    refused(sources, "lstmTi.weight_ih_l0", "5-d input", "7-d")


def test_fields_of_different_shapes_are_refused(sources):
    other = seed_net(Layout(layers=1)).state_dict()
    state = torch.load(sources[0], weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("lstmTi.")}
    state |= {k: v for k, v in other.items() if k.startswith("lstmTi.")}
    torch.save(state, sources[0])
    refused(sources, "lstmTi (1 layer(s)", "lstmAb (2 layer(s)", "differ")


def test_an_existing_directory_is_left_alone(sources, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused(sources, "already exists", out=out)
    assert (out / "keep.txt").read_text() == "mine"


def test_an_lstm_without_biases_reads_as_zero_biases(tmp_path, papers):
    layout = Layout(layers=2)
    net, kv = seed_net(layout), vocabulary(papers)
    with torch.no_grad():  # what nn.LSTM(bias=False) computes
        for name, p in net.named_parameters():
            if name.startswith("lstm") and "bias" in name:
                p.zero_()
    sources = write_sources(tmp_path, net, kv, layout.spec(), binary=False)
    state = {k: v for k, v in net.state_dict().items() if k.startswith("fc") or "bias" not in k}
    torch.save(state, sources[0])
    import_model(*sources, out=tmp_path / "model", name="seed", version="1")
    model = load_model(tmp_path / "model", device="cpu")
    assert_explanations_match(model, Reference(net, kv), papers[:1])
