"""Grid and leave-one-out under each pooling: final-state (ours) against last-output (the
seed author's ``out[:, -1, :]``), same weights.

    .venv/bin/python bench/pooling_bench.py [--papers 100] [--seed 7] [--repeat 3]
                                            [--threads 1] [--layers 1|2|3]

On N real labelled papers (title words, abstract sentences), all in one batch, one model per
pooling holding the default model's weights (``--layers`` other than 2: random weights of the
default model's sizes, which time the same). The poolings run in turn, ``--repeat`` times;
each figure is the median, per paper, wall clock and CPU time. Prints the ratio and checks
each pooling's grid against one plain forward pass per cell on the first paper (within 1e-5).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.engine.classifier import FINAL_STATE, LAST_OUTPUT, POOLINGS, Classifier
from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import _grid_scores, _grids, _leave_one_out, _prepare, _units
from shared.engine.runtime import Model, load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"


def pooled(base: Model, pooling: str, layers: int) -> Model:
    """``base``'s weights (random ones for another depth) under ``pooling``."""
    arch = dataclasses.replace(
        base.classifier.arch,
        num_layers=layers,
        pooling={f: pooling for f in base.fields},
    )
    torch.manual_seed(layers)
    classifier = Classifier(arch)
    if layers == base.classifier.arch.num_layers:
        classifier.load_state_dict(base.classifier.state_dict())
    return Model(classifier, base.vectors, {"name": pooling}, base.device)


def _timed(fn: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - wall, time.process_time() - cpu)


def largest_error(model: Model, paper: dict[str, str]) -> float:
    """The grid against one plain forward pass per cell."""
    batch = _prepare(model, [paper], _units(model, None))
    grid = _grids(model, batch, _grid_scores(model, batch))[0]
    title, abstract = grid.fields
    docs = [
        {"title": title.tokens_upto(i), "abstract": abstract.tokens_upto(j)}
        for i in range(len(title.units))
        for j in range(len(abstract.units))
    ]
    brute = model.predict_batch(docs).reshape(grid.probabilities.shape)
    return float(np.abs(brute - grid.probabilities).max())


def run(data: Path, n_papers: int, seed: int, repeat: int, layers: int) -> None:
    base = load_model(device="cpu")
    models = {p: pooled(base, p, layers) for p in POOLINGS}
    papers = [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(data, limit=n_papers, seed=seed)
    ]
    batch = _prepare(base, papers, _units(base, None))
    for m in models.values():  # warm up
        _leave_one_out(m, batch, _grid_scores(m, batch))
    load = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for p, m in models.items():
            scores, t_grid = _timed(lambda m=m: _grid_scores(m, batch))
            _, t_loo = _timed(lambda m=m, s=scores: _leave_one_out(m, batch, s))
            times.setdefault(f"{p} grid", []).append(t_grid)
            times.setdefault(f"{p} leave-one-out", []).append(t_loo)
    print(f"machine          {platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; load {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    arch = models[FINAL_STATE].classifier.arch
    print(f"model            {arch.num_layers} layers, hidden {arch.hidden_size}, "
          f"{arch.vector_size}-d vectors, bidirectional; {len(papers)} papers")  # fmt: skip
    ms = {}
    for key, runs in times.items():
        ms[key] = [1000 * statistics.median(r[i] for r in runs) / len(papers) for i in (0, 1)]
        print(f"{key:30s} {ms[key][0]:7.2f} ms / paper wall, {ms[key][1]:7.2f} CPU")
    for what in ("grid", "leave-one-out"):
        a, b = ms[f"{FINAL_STATE} {what}"], ms[f"{LAST_OUTPUT} {what}"]
        print(
            f"last-output / final-state, {what:14s} {b[0] / a[0]:.2f} wall, {b[1] / a[1]:.2f} CPU"
        )
    for p, m in models.items():
        error = largest_error(m, papers[0])
        print(f"{p} grid vs per-cell forward passes: {error:.1e}")
        assert error <= 1e-5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--papers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--layers", type=int, default=2, choices=[1, 2, 3])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run(args.data, args.papers, args.seed, args.repeat, args.layers)


if __name__ == "__main__":
    main()
