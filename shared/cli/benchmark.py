"""``occlab bench``: the engine against the seed's per-cell loop, on real labelled papers."""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from shared.config import load_settings
from shared.engine.classifier import LAST_OUTPUT
from shared.engine.dataset import read_labelled_csv
from shared.engine.explanations import OcclusionGrid, occlusion_grid, occlusion_grids
from shared.engine.runtime import Model, load_model
from shared.engine.threads import set_threads

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "labelled-papers.csv"
Paper = dict[str, str]


def fused_encoders(model: Model) -> dict[str, nn.LSTM]:
    """Each field's weights in one stock bidirectional ``nn.LSTM`` (PyTorch's fused C++ loop):
    how the seed's model ran, so the per-cell baseline is not handicapped by our own code."""
    fused = {}
    for field in model.fields:
        enc = model.classifier.encoder(field)
        lstm = nn.LSTM(
            enc.vector_size,
            enc.hidden_size,
            num_layers=len(enc.layers),
            bidirectional=enc.bidirectional,
            batch_first=True,
        )
        with torch.no_grad():
            for n in range(len(enc.layers)):
                parts = [("", enc.layer(n).fwd), ("_reverse", enc.layer(n).bwd)]
                for suffix, part in parts[: 2 if enc.bidirectional else 1]:
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(lstm, f"{name}_l{n}{suffix}").copy_(getattr(part, f"{name}_l0"))
        fused[field] = lstm.to(model.device).eval()
    return fused


@torch.inference_mode()
def per_cell(model: Model, grid: OcclusionGrid, fused: dict[str, nn.LSTM]) -> np.ndarray:
    """The seed's method: one forward pass, batch of one, for every cell of the grid, pooled
    as the model is (``h_n``, or the seed author's ``out[:, -1, :]``)."""
    rows, cols = grid.fields
    out = np.zeros(grid.probabilities.shape)
    for i in range(len(rows.units)):
        for j in range(len(cols.units)):
            feats = []
            for fu, upto in ((rows, i), (cols, j)):
                x, enc = model.embed(fu.tokens_upto(upto)), model.classifier.encoder(fu.name)
                if len(x) == 0:  # nothing read: the zero state, as in the model
                    feats.append(x.new_zeros(1, enc.width))
                    continue
                top, (h_n, _) = fused[fu.name](x.unsqueeze(0))
                dirs = 2 if enc.bidirectional else 1
                last = top[:, -1] if enc.pooling == LAST_OUTPUT else torch.cat(list(h_n[-dirs:]), 1)
                feats.append(last)
            logits = model.classifier.head(torch.cat(feats, dim=1))
            out[i, j] = float(model.classifier.probability(logits)[0])
    return out


def lstm_flops(model: Model, grids: Sequence[OcclusionGrid]) -> float:
    """Floating-point operations of the LSTM matrix products the engine performs for these
    grids (2 per multiply-add): what is shared is counted once per text, the rest per prefix.
    Counted for a bidirectional model pooled by final state (ours)."""
    arch = model.classifier.arch
    h, d = arch.hidden_size, arch.vector_size
    mat = 8 * h  # a [4H x width] matrix times a vector: 2 * 4H * width operations
    total = 0.0
    for g in grids:
        for fu in g.fields:
            n = fu.prefix_lengths[-1]
            steps = sum(k for k in set(fu.prefix_lengths) if k > 0)
            total += n * mat * ((d + h) + d)  # layer 1: forward run; backward input projection
            total += steps * mat * h  # layer 1 backward recurrence, per prefix
            if arch.num_layers > 1:
                total += n * mat * 2 * h  # layer 2: shared half of both input projections
                total += steps * mat * 2 * (h + h)  # per prefix: other half + recurrence
            total += steps * mat * 2 * (3 * h) * max(0, arch.num_layers - 2)
    return total


def matmul_gflops(n: int = 1024, repeat: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeat):
        torch.mm(a, b)
    return 2 * n**3 * repeat / (time.perf_counter() - start) / 1e9


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(
    model_dir: Path | None,
    data: Path | None,
    n_papers: int,
    seed: int,
    echo: Callable[[str], None] = print,
    loop_papers: int = 12,
) -> dict[str, Any]:
    set_threads(override=load_settings().torch_threads)
    model = load_model(model_dir)
    papers = [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(data or DEFAULT_DATA, limit=n_papers, seed=seed)
    ]
    fig: dict[str, Any] = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, device {model.device}"
    }
    occlusion_grids(model, papers[:2])  # warm-up
    singles, t_single = _timed(
        lambda: [occlusion_grid(model, p["title"], p["abstract"]) for p in papers[:loop_papers]]
    )
    fused = fused_encoders(model)
    loops, t_loop = _timed(lambda: [per_cell(model, g, fused) for g in singles])
    worst = max(
        float(np.abs(a - g.probabilities).max()) for a, g in zip(loops, singles, strict=True)
    )
    batched, t_batch = _timed(lambda: occlusion_grids(model, papers))
    words, t_words = _timed(lambda: occlusion_grids(model, papers[:16], abstract_unit="word"))
    shapes = np.array([g.probabilities.shape for g in batched])
    fig.update(
        {
            "papers": len(papers),
            "median_grid": [int(x) for x in np.median(shapes, axis=0)],
            "median_abstract_words": int(np.median([len(g.fields[1].tokens) for g in batched])),
            "per_cell_ms_per_paper": 1000 * t_loop / loop_papers,
            "engine_single_ms_per_paper": 1000 * t_single / loop_papers,
            "single_speedup": t_loop / t_single,
            "batched_papers_per_s": len(papers) / t_batch,
            "batched_speedup": (t_loop / loop_papers) / (t_batch / len(papers)),
            "word_grid_papers_per_s": len(words) / t_words,
            "max_abs_diff_vs_per_cell": worst,
            "engine_gflops_batched": lstm_flops(model, batched) / t_batch / 1e9,
            "engine_gflops_word": lstm_flops(model, words) / t_words / 1e9,
            "matmul_gflops": matmul_gflops(),
            "peak_rss_mib": _peak_mib(),
        }
    )
    for key, value in fig.items():
        echo(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    return fig
