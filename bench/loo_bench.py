"""Leave-one-out against the grid, and against the plain leave-one-out it replaced.

    .venv/bin/python bench/loo_bench.py [--papers 200] [--seed 7] [--repeat 3] [--threads 1]
                                        [--abstract-unit sentence|word]

On N real labelled papers (title words; abstract sentences unless told), all in one batch,
times each of: the grid (every field's prefix shares), the plain leave-one-out (one packed
forward pass of the classifier per deletion, kept below as the reference), and the shared
leave-one-out of ``shared.engine.deletion``. The three run in turn, ``--repeat`` times, and
each figure is the median, so a change in the machine's load touches all three alike. Prints
per-paper milliseconds (wall clock, and CPU time), the ratios, and the largest difference in
delta P between the two leave-one-outs (the product promises 1e-5).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.engine.classifier import FieldEncoder, pad_batch
from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import (
    _Batch,
    _grid_scores,
    _head,
    _leave_one_out,
    _others,
    _prepare,
    _sigmoid,
    _units,
)
from shared.engine.occlusion import CELLS_PER_CHUNK, chunks
from shared.engine.runtime import Model, load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"


# --- The plain leave-one-out, as it was before shared/engine/deletion.py -------------------


def without_unit(known: Sequence[bool], bounds: Sequence[int], u: int) -> list[int]:
    """Positions (among known tokens) left when unit ``u`` (tokens bounds[u]:bounds[u+1]) goes."""
    before = sum(known[: bounds[u]])
    removed = sum(known[bounds[u] : bounds[u + 1]])
    total = sum(known)
    return list(range(before)) + list(range(before + removed, total))


def plain_deletion_scores(
    encoder: FieldEncoder,
    weight: Tensor,
    seqs: Sequence[Tensor],
    keep: Sequence[Sequence[list[int]]],
) -> list[np.ndarray]:
    """``out[b][u]`` = logit share of ``seqs[b]`` keeping only positions ``keep[b][u]``: a
    forward pass of the encoder over every deleted text, in packed chunks."""
    variants = [(b, k) for b, ks in enumerate(keep) for k in ks]
    order = sorted(range(len(variants)), key=lambda v: len(variants[v][1]), reverse=True)
    flat = np.zeros(len(variants))
    budget = CELLS_PER_CHUNK.get(seqs[0].device.type, 60_000) if seqs else 1
    for chunk in chunks([(max(1, len(variants[v][1])), v) for v in order], budget):
        idx = [v for _, v in chunk]
        picked = [seqs[variants[v][0]][torch.tensor(variants[v][1], dtype=torch.long)] for v in idx]
        x, lengths = pad_batch(picked, encoder.vector_size)
        device = seqs[0].device
        flat[idx] = (encoder(x.to(device), lengths.to(device)) @ weight).double().cpu().numpy()
    out, start = [], 0
    for ks in keep:
        out.append(flat[start : start + len(ks)])
        start += len(ks)
    return out


@torch.inference_mode()
def plain_leave_one_out(model: Model, batch: _Batch, scores: Any) -> list[dict[str, np.ndarray]]:
    weights, _ = _head(model)
    out: list[dict[str, np.ndarray]] = [{} for _ in batch.splits]
    for n, f in enumerate(model.fields):
        keep = []
        for split in batch.splits:
            known = [t in model.vocab for t in split[n].tokens]
            bounds = np.cumsum([0] + [len(u) for u in split[n].units]).tolist()
            keep.append([without_unit(known, bounds, u) for u in range(len(split[n].units))])
        encoder = model.classifier.encoder(f)
        dropped = plain_deletion_scores(encoder, weights[f], batch.seqs[f], keep)
        for b in range(len(batch.splits)):
            rest = _others(model, scores, b, f)
            out[b][f] = _sigmoid(rest + dropped[b]) - _sigmoid(rest + scores[f][b][-1])
    return out


# --- The benchmark --------------------------------------------------------------------------


def _timed(fn: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    """fn's result, and its (wall, CPU) seconds: CPU time is what other users' load touches
    least on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - wall, time.process_time() - cpu)


def run(
    model_dir: Path | None, data: Path, n_papers: int, seed: int, repeat: int, abstract_unit: str
) -> None:
    model = load_model(model_dir)
    papers = [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(data, limit=n_papers, seed=seed)
    ]
    units = _units(model, {"abstract": abstract_unit})
    batch = _prepare(model, papers, units)
    warm = _prepare(model, papers[:2], units)
    _leave_one_out(model, warm, _grid_scores(model, warm))
    load_before = os.getloadavg()
    times: dict[str, list[tuple[float, float]]] = {"grid": [], "plain": [], "shared": []}
    for _ in range(repeat):
        scores, t = _timed(lambda: _grid_scores(model, batch))
        times["grid"].append(t)
        old, t = _timed(lambda: plain_leave_one_out(model, batch, scores))  # noqa: B023
        times["plain"].append(t)
        new, t = _timed(lambda: _leave_one_out(model, batch, scores))  # noqa: B023
        times["shared"].append(t)
    worst = max(float(np.abs(o[f] - n[f]).max()) for o, n in zip(old, new, strict=True) for f in o)
    ms = {k: 1000 * statistics.median(w for w, _ in v) / len(papers) for k, v in times.items()}
    cpu = {k: 1000 * statistics.median(c for _, c in v) / len(papers) for k, v in times.items()}
    arch = model.classifier.arch
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, device {model.device}",
        "load_average_before_after": f"{load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}",
        "model": f"{model.name}: {arch.num_layers} layers, hidden {arch.hidden_size}",
        "papers": len(papers),
        "abstract_unit": abstract_unit,
        "median_units_title_abstract": [
            int(np.median([len(s[n].units) for s in batch.splits])) for n in range(2)
        ],
        "median_known_tokens_abstract": int(np.median([len(s) for s in batch.seqs["abstract"]])),
        "grid_ms_per_paper": ms["grid"],
        "plain_loo_ms_per_paper": ms["plain"],
        "shared_loo_ms_per_paper": ms["shared"],
        "shared_loo_over_grid": ms["shared"] / ms["grid"],
        "plain_loo_over_grid": ms["plain"] / ms["grid"],
        "speedup_shared_over_plain": ms["plain"] / ms["shared"],
        "cpu_ms_grid_plain_shared": [round(cpu[k], 2) for k in ("grid", "plain", "shared")],
        "cpu_shared_loo_over_grid": cpu["shared"] / cpu["grid"],
        "max_abs_diff_delta_p": worst,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    for key, value in figures.items():
        if isinstance(value, float):
            value = f"{value:.3g}" if key == "max_abs_diff_delta_p" else f"{value:.3f}"
        print(f"{key:30s} {value}")
    assert worst <= 1e-5, f"shared leave-one-out differs from the plain one by {worst:.2e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--abstract-unit", default="sentence", choices=["sentence", "word"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run(args.model, args.data, args.papers, args.seed, args.repeat, args.abstract_unit)


if __name__ == "__main__":
    main()
