"""Faithfulness against the grid and leave-one-out, on real labelled papers.

    .venv/bin/python bench/faithfulness_bench.py [--papers 200] [--seed 7] [--repeat 3]
                                                 [--threads 1] [--abstract-unit sentence|word]
                                                 [--baseline 0]

On N real labelled papers (title words; abstract sentences unless told), all in one batch,
times each of: the grid (every field's prefix shares), leave-one-out (``deletion.py``) and
faithfulness (``faithfulness.py``: the deletion curve and sufficiency's variants, one pass per
field). The three run in turn, ``--repeat`` times, and each figure is the median, so a change
in the machine's load touches all three alike. Prints per-paper milliseconds (wall clock, and
CPU time), the ratios, and how many variants faithfulness ran against leave-one-out's
deletions. ``--baseline N`` also times the random baseline (10 shuffles) on N of the papers.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.engine import subsets
from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import (
    _grid_scores,
    _leave_one_out,
    _prepare,
    _units,
)
from shared.engine.faithfulness import Reuse, explanation_faithfulness, random_baseline
from shared.engine.runtime import load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"


def _timed(fn: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    """fn's result, and its (wall, CPU) seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - wall, time.process_time() - cpu)


def _count_variants() -> list[int]:
    """Wrap ``subset_scores`` to count the variants it runs (those with tokens left)."""
    counted: list[int] = []
    real = subsets.subset_scores

    def counting(encoder: Any, weight: Any, seqs: Any, variants: Any, *rest: Any) -> np.ndarray:
        counted.append(sum(1 for _, kept in variants if len(kept)))
        return real(encoder, weight, seqs, variants, *rest)

    import shared.engine.faithfulness as faithfulness

    faithfulness.subset_scores = counting  # type: ignore[assignment]
    return counted


def run(args: argparse.Namespace) -> None:
    model = load_model(args.model)
    found = read_labelled_csv(args.data, limit=args.papers, seed=args.seed)
    papers = [{"title": p.title, "abstract": p.abstract} for p in found]
    units = _units(model, {"abstract": args.abstract_unit})
    batch = _prepare(model, papers, units)
    warm = _prepare(model, papers[:2], units)
    warm_scores = _grid_scores(model, warm)
    explanation_faithfulness(model, warm, warm_scores, _leave_one_out(model, warm, warm_scores))
    counted = _count_variants()
    load_before = os.getloadavg()
    times: dict[str, list[tuple[float, float]]] = {"grid": [], "loo": [], "faith": []}
    for _ in range(args.repeat):
        scores, t = _timed(lambda: _grid_scores(model, batch))
        times["grid"].append(t)
        # Leave-one-out as explain runs it: keeping what faithfulness reads again.
        reuse = Reuse()
        loo, t = _timed(lambda: _leave_one_out(model, batch, scores, reuse))  # noqa: B023
        times["loo"].append(t)
        _, t = _timed(lambda: explanation_faithfulness(model, batch, scores, loo, reuse))  # noqa: B023
        times["faith"].append(t)
    ms = {k: 1000 * statistics.median(w for w, _ in v) / len(papers) for k, v in times.items()}
    cpu = {k: 1000 * statistics.median(c for _, c in v) / len(papers) for k, v in times.items()}
    deletions = sum(len(s[n].units) for s in batch.splits for n in range(len(model.fields)))
    arch = model.classifier.arch
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, device {model.device}",
        "load_average_before_after": f"{load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}",
        "model": f"{model.name}: {arch.num_layers} layers, hidden {arch.hidden_size}",
        "papers": len(papers),
        "abstract_unit": args.abstract_unit,
        "median_units_title_abstract": [
            int(np.median([len(s[n].units) for s in batch.splits])) for n in range(2)
        ],
        "median_known_tokens_abstract": int(np.median([len(s) for s in batch.seqs["abstract"]])),
        "grid_ms_per_paper": ms["grid"],
        "loo_ms_per_paper": ms["loo"],
        "faithfulness_ms_per_paper": ms["faith"],
        "faithfulness_over_loo": ms["faith"] / ms["loo"],
        "faithfulness_over_grid": ms["faith"] / ms["grid"],
        "cpu_ms_grid_loo_faithfulness": [round(cpu[k], 2) for k in ("grid", "loo", "faith")],
        "variants_run_per_paper": sum(counted[-len(model.fields) :]) / len(papers),
        "loo_deletions_per_paper": deletions / len(papers),
    }
    if args.baseline:
        sample = papers[: args.baseline]
        _, (wall, _) = _timed(lambda: random_baseline(model, sample, units))
        figures["random_baseline_ms_per_paper"] = 1000 * wall / len(sample)
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for key, value in figures.items():
        print(f"{key:32s} {f'{value:.3f}' if isinstance(value, float) else value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--abstract-unit", default="sentence", choices=["sentence", "word"])
    parser.add_argument("--baseline", type=int, default=0, help="time the random baseline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run(args)


if __name__ == "__main__":
    main()
