"""Training the default model: word vectors (``shared.engine.word_vectors``), then the LSTM
classifier.

Everything is seeded and single-threaded where order matters, so two runs with the same seed
give identical weights on CPU.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from shared.engine.classifier import Architecture, Classifier
from shared.engine.dataset import Paper, read_labelled_csv, stratified_split
from shared.engine.model_dir import save_model_dir, sha256_file
from shared.engine.options import TrainConfig
from shared.engine.word_vectors import train_vectors


class Encoded:
    """Papers as vocabulary indices, so batches are cheap gathers from one frozen matrix."""

    def __init__(self, papers: Sequence[Paper], kv: Any, fields: Sequence[str]) -> None:
        vocab = kv.key_to_index
        self.table = torch.from_numpy(np.asarray(kv.vectors, dtype=np.float32))
        self.ids = {
            f: [torch.tensor([vocab[t] for t in p.tokens[f] if t in vocab]) for p in papers]
            for f in fields
        }
        self.labels = torch.tensor([p.label for p in papers])
        self.fields = list(fields)

    def batch(self, rows: Sequence[int]) -> dict[str, tuple[Tensor, Tensor]]:
        out = {}
        for f in self.fields:
            seqs = [self.ids[f][r] for r in rows]
            lengths = torch.tensor([len(s) for s in seqs])
            idx = torch.zeros(len(seqs), max(1, int(lengths.max())), dtype=torch.long)
            for i, s in enumerate(seqs):
                idx[i, : len(s)] = s
            out[f] = (self.table[idx], lengths)
        return out


def batches(enc: Encoded, size: int, rng: np.random.Generator | None) -> list[list[int]]:
    """Length-bucketed batches (less padding to pack); shuffled when ``rng`` is given."""
    n = len(enc.labels)
    order = list(range(n)) if rng is None else rng.permutation(n).tolist()
    last = enc.fields[-1]
    chunks = [order[i : i + size * 20] for i in range(0, n, size * 20)]
    out = []
    for chunk in chunks:
        chunk = sorted(chunk, key=lambda r: len(enc.ids[last][r]))
        out += [list(map(int, chunk[i : i + size])) for i in range(0, len(chunk), size)]
    if rng is not None:
        out = [out[i] for i in rng.permutation(len(out))]
    return out


@torch.inference_mode()
def scores(model: Classifier, enc: Encoded, size: int = 64) -> np.ndarray:
    model.eval()
    out = np.zeros(len(enc.labels))
    for rows in batches(enc, size, None):
        logits = model(enc.batch(rows))
        out[rows] = torch.softmax(logits, 1)[:, model.arch.positive_class].numpy()
    return out


def roc_auc(labels: np.ndarray, scores_: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula, ties counted half."""
    order = np.argsort(scores_, kind="mergesort")
    ranks = np.empty(len(scores_))
    sorted_scores = scores_[order]
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float(((probs >= 0.5) == (labels == 1)).mean()),
        "roc_auc": roc_auc(labels, probs),
        "n": len(labels),
    }


def fit(
    model: Classifier,
    train: Encoded,
    val: Encoded,
    cfg: TrainConfig,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Adam with early stopping on validation ROC-AUC; keeps the best epoch's weights."""
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    best: dict[str, Any] = {"auc": -1.0, "epoch": 0, "state": None}
    for epoch in range(1, cfg.max_epochs + 1):
        model.train()
        total = 0.0
        plan = batches(train, cfg.batch_size, rng)
        for rows in tqdm(plan, desc=f"epoch {epoch}", unit="batch", leave=False):
            opt.zero_grad()
            loss = loss_fn(model(train.batch(rows)), train.labels[rows])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(rows)
        val_auc = roc_auc(val.labels.numpy(), scores(model, val))
        log(f"epoch {epoch}: train loss {total / len(train.labels):.4f}, val ROC-AUC {val_auc:.4f}")
        if val_auc > best["auc"]:
            best = {"auc": val_auc, "epoch": epoch, "state": _copy_state(model)}
        elif epoch - best["epoch"] >= cfg.patience:
            break
    model.load_state_dict(best["state"])
    return {"best_epoch": best["epoch"], "val_roc_auc": best["auc"], "epochs_run": epoch}


def _digest(titles: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(titles).encode("utf-8")).hexdigest()


def _copy_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_model(
    data: Path, out: Path, cfg: TrainConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train from a labelled CSV and write a model directory; returns its manifest."""
    torch.manual_seed(cfg.seed)
    papers = read_labelled_csv(data, cfg.limit, cfg.split_seed, cfg.keep_boilerplate)
    split = stratified_split(papers, seed=cfg.split_seed)
    log(
        f"{len(papers)} papers: train {len(split.train)}, val {len(split.val)}, "
        f"test {len(split.test)}"
    )
    kv = train_vectors([p.tokens[f] for p in split.train for f in cfg.fields], cfg)
    log(f"{cfg.vectors}: {len(kv.index_to_key)} words x {kv.vector_size} dimensions")
    arch = Architecture(cfg.fields, kv.vector_size, cfg.hidden_size, cfg.num_layers)
    model = Classifier(arch)
    encode = lambda ps: Encoded(ps, kv, cfg.fields)  # noqa: E731
    training = fit(model, encode(split.train), encode(split.val), cfg, log)
    test = encode(split.test)
    test_metrics = metrics(test.labels.numpy(), scores(model, test))
    log(f"test: accuracy {test_metrics['accuracy']:.4f}, ROC-AUC {test_metrics['roc_auc']:.4f}")
    info = {
        "name": cfg.name,
        "version": cfg.version,
        "metrics": {"test": test_metrics, "validation_roc_auc": training["val_roc_auc"]},
        "training": {
            "data_file": data.name,
            "data_sha256": sha256_file(data),
            "seed": cfg.seed,
            "split": {
                "train": len(split.train),
                "val": len(split.val),
                "test": len(split.test),
                # Which papers were held out, so two models can be seen to share a test set.
                "test_sha256": _digest(p.title for p in split.test),
            },
            "vocabulary": len(kv.index_to_key),
            **training,
            "config": {k: v for k, v in vars(cfg).items() if k not in ("name", "version")},
        },
        "tokenizer": "shared.text.tokenize",
        "vectors": {"dtype": "float16", "count": len(kv.index_to_key)},
    }
    return save_model_dir(out, model, kv, info)
