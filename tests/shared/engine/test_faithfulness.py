"""Faithfulness against brute force: every deletion through ``predict_tokens``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import explain
from shared.engine.export import to_json
from shared.engine.faithfulness import QS, random_baseline, rank_units, top_k
from shared.engine.runtime import Model, load_model
from tests.conftest import TOY_ABSTRACT

TOL = 1e-6


@pytest.fixture(scope="module")
def engine_model(default_model_dir) -> Model:
    return load_model(default_model_dir, device="cpu")


@pytest.fixture(scope="module")
def papers(data_path) -> list[dict[str, str]]:
    found = read_labelled_csv(data_path, limit=8, seed=5)
    return [{"title": p.title, "abstract": p.abstract} for p in found]


def _tokens(e, keep) -> list[list[str]]:
    """Each field's tokens keeping the units for which ``keep(field index, unit)``."""
    return [
        [t for u, unit in enumerate(fu.units) if keep(n, u) for t in unit]
        for n, fu in enumerate(e.grid.fields)
    ]


def brute(model: Model, e, keep) -> float:
    """P (positive class) with only the units ``keep`` says: one plain forward pass."""
    return model.predict_tokens(*_tokens(e, keep))


def check_against_brute_force(model: Model, e) -> None:
    f = e.faithfulness
    assert f is not None
    pc = (lambda p: p) if f.predicted else (lambda p: 1.0 - p)
    full = pc(brute(model, e, lambda n, u: True))
    assert f.predicted == int(e.grid.probability >= 0.5)
    n = len(f.ranking)
    assert len(f.deletion_curve) == n
    for k in range(1, n + 1):
        top = set(f.ranking[:k])
        got = f.deletion_curve[k - 1]
        assert got == pytest.approx(pc(brute(model, e, lambda g, u: (g, u) not in top)), abs=TOL)  # noqa: B023
    for q in QS:
        top = set(f.ranking[: top_k(q, n)])
        deleted = pc(brute(model, e, lambda g, u: (g, u) not in top))  # noqa: B023
        kept = pc(brute(model, e, lambda g, u: (g, u) in top))  # noqa: B023
        assert f.comprehensiveness[q] == pytest.approx(full - deleted, abs=TOL)
        assert f.sufficiency[q] == pytest.approx(full - kept, abs=TOL)
    assert f.aopc_comprehensiveness == pytest.approx(np.mean(list(f.comprehensiveness.values())))


def check_ranking(e) -> None:
    """Ranked by support for the predicted class, from leave-one-out's deltas."""
    f = e.faithfulness
    sign = -1.0 if f.predicted else 1.0
    fields = [fu.name for fu in e.grid.fields]
    support = [sign * e.leave_one_out[fields[g]][u] for g, u in f.ranking]
    assert support == sorted(support, reverse=True)
    assert sorted(f.ranking) == [(g, u) for g, fu in enumerate(e.grid.fields)
                                 for u in range(len(fu.units))]  # fmt: skip


@pytest.mark.parametrize("title_unit, abstract_unit", [("word", "sentence"), ("sentence", "word")])
def test_labelled_papers_equal_brute_force(engine_model, papers, title_unit, abstract_unit):
    chosen = papers if abstract_unit == "sentence" else papers[:2]
    spread = 0.0
    for e in explain(engine_model, chosen, title_unit, abstract_unit, activations=False):
        check_against_brute_force(engine_model, e)
        check_ranking(e)
        spread = max(spread, float(np.ptp(e.faithfulness.deletion_curve)))
    assert spread > 0.1  # the curves move, or the comparison would prove little


@pytest.mark.parametrize("title", ["society", "Psychotherapeutic proesses"])
def test_a_field_that_becomes_or_is_empty(engine_model, title):
    """A title of one known word (deleting it leaves nothing) or of none (read as nothing)."""
    (e,) = explain(engine_model, [{"title": title, "abstract": TOY_ABSTRACT}])
    check_against_brute_force(engine_model, e)
    title_units = [(g, u) for g, u in e.faithfulness.ranking if g == 0]
    assert len(title_units) == len(e.grid.title_units)


def test_the_minimal_flip_flips_and_one_fewer_does_not(engine_model, papers):
    flips = 0
    for e in explain(engine_model, papers, activations=False):
        f = e.faithfulness
        decision = e.grid.probability >= 0.5
        if f.minimal_flip is None:
            curve = f.deletion_curve if f.predicted else 1.0 - f.deletion_curve
            assert all((p >= 0.5) == decision for p in curve)
            continue
        flips += 1
        k = f.minimal_flip.k
        top, fewer = set(f.ranking[:k]), set(f.ranking[: k - 1])
        p = brute(engine_model, e, lambda g, u: (g, u) not in top)  # noqa: B023
        before = brute(engine_model, e, lambda g, u: (g, u) not in fewer)  # noqa: B023
        assert (p >= 0.5) != decision and (before >= 0.5) == decision
        assert f.minimal_flip.probability == pytest.approx(p, abs=TOL)
        fields = e.grid.fields
        assert f.minimal_flip.units == [
            {"field": fields[g].name, "index": u, "text": fields[g].labels[u]}
            for g, u in f.ranking[:k]
        ]
    assert flips >= 2


def test_ties_rank_title_first_then_by_index():
    supports = [np.array([0.1, 0.0, 0.0]), np.array([0.0, 0.2, 0.1])]
    assert rank_units(supports) == [(1, 1), (0, 0), (1, 2), (0, 1), (0, 2), (1, 0)]


def test_k_is_ceil_of_q_times_units_exactly():
    assert [top_k(q, 10) for q in QS] == [1, 2, 3, 4, 5]
    assert [top_k(q, 7) for q in QS] == [1, 2, 3, 3, 4]


def test_bulk_and_full_profiles_carry_it_and_json_keys(engine_model, papers):
    bulk = explain(engine_model, papers[:2], detail="bulk")
    full = explain(engine_model, papers[:2], detail="full")
    for b, f in zip(bulk, full, strict=True):
        np.testing.assert_array_equal(b.faithfulness.deletion_curve, f.faithfulness.deletion_curve)
        data = to_json(b)
        assert set(data["faithfulness"]) == {"comprehensiveness", "sufficiency",
                                             "aopc_comprehensiveness", "aopc_sufficiency",
                                             "deletion_curve"}  # fmt: skip
        assert list(data["faithfulness"]["comprehensiveness"]) == list(QS)
        assert len(data["faithfulness"]["deletion_curve"]) == len(b.faithfulness.ranking)
        assert "minimal_flip" in data
    (skipped,) = explain(engine_model, papers[:1], faithfulness=False)
    assert skipped.faithfulness is None and to_json(skipped)["faithfulness"] is None


def test_random_baseline_equals_brute_force_shuffles(engine_model, papers):
    chosen = papers[:2]
    got = random_baseline(engine_model, chosen, seeds=3)
    assert got == random_baseline(engine_model, chosen, seeds=3)  # seeded
    assert got["papers"] == 2 and got["seeds"] == 3 and len(got["per_paper"]) == 2
    for e, mine in zip(explain(engine_model, chosen), got["per_paper"], strict=True):
        units = [(g, u) for g, fu in enumerate(e.grid.fields) for u in range(len(fu.units))]
        c = e.grid.probability >= 0.5
        pc = (lambda p: p) if c else (lambda p: 1.0 - p)
        full = pc(e.grid.probability)
        comp, suff = [], []
        for seed in range(3):
            order = np.random.default_rng(seed).permutation(len(units))
            for q in QS:
                top = {units[i] for i in order[: top_k(q, len(units))]}
                comp.append(full - pc(brute(engine_model, e, lambda g, u: (g, u) not in top)))  # noqa: B023
                suff.append(full - pc(brute(engine_model, e, lambda g, u: (g, u) in top)))  # noqa: B023
        assert mine["aopc_comprehensiveness"] == pytest.approx(np.mean(comp), abs=TOL)
        assert mine["aopc_sufficiency"] == pytest.approx(np.mean(suff), abs=TOL)
    means = np.mean([p["aopc_comprehensiveness"] for p in got["per_paper"]])
    assert got["aopc_comprehensiveness"] == pytest.approx(means)
    assert random_baseline(engine_model, [])["aopc_sufficiency"] is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_agrees_with_cpu(default_model_dir, papers):
    cpu = load_model(default_model_dir, device="cpu")
    gpu = load_model(default_model_dir, device="cuda")
    on_cpu = explain(cpu, papers, abstract_unit="word", activations=False)
    on_gpu = explain(gpu, papers, abstract_unit="word", activations=False)
    alike = 0
    for a, b in zip(on_cpu, on_gpu, strict=True):
        if a.faithfulness.ranking == b.faithfulness.ranking:  # near-ties may swap
            alike += 1
            np.testing.assert_allclose(
                a.faithfulness.deletion_curve, b.faithfulness.deletion_curve, atol=1e-4
            )
    assert alike >= len(papers) // 2
    base = random_baseline(cpu, papers[:3], seeds=2)
    assert random_baseline(gpu, papers[:3], seeds=2)["aopc_sufficiency"] == pytest.approx(
        base["aopc_sufficiency"], abs=1e-4
    )
