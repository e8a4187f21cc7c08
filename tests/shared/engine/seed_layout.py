"""A model in the seed author's layout (``simple_id/neuralnet.py``), written as its author
would: the module, its ``torch.save(model.state_dict())``, word2vec files from gensim, and
its own forward pass, the brute force every imported grid is checked against.

The author's module has two ``nn.LSTM``s, ``lstmAb`` and ``lstmTi``, and concatenates their
outputs at the last time step abstract first into ``fc``; here the depth, the directions, the
pooling and the head's size are open, so one module covers every layout the spec allows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from torch import nn

from shared.text import tokenize

SEED_SPEC = {
    "fields": {
        "title": {"lstm": "lstmTi", "pooling": "last-output"},
        "abstract": {"lstm": "lstmAb", "pooling": "last-output"},
    },
    "head": "fc",
    "head_order": ["abstract", "title"],
    "positive_class": 1,
}


@dataclass(frozen=True)
class Layout:
    layers: int = 1
    bidirectional: bool = True
    pooling: str = "last-output"
    outputs: int = 2
    hidden: int = 4
    dims: int = 5

    def spec(self, positive_class: int = 1) -> dict[str, object]:
        spec = json.loads(json.dumps(SEED_SPEC))
        for field in spec["fields"].values():
            field["pooling"] = self.pooling
        spec["positive_class"] = positive_class
        return spec


class SeedNet(nn.Module):
    """The author's module, its LSTMs and head as in ``neuralnet.py``."""

    def __init__(self, layout: Layout) -> None:
        super().__init__()
        self.layout = layout
        dirs = 2 if layout.bidirectional else 1

        def lstm() -> nn.LSTM:
            return nn.LSTM(
                layout.dims,
                layout.hidden,
                layout.layers,
                batch_first=True,
                bidirectional=layout.bidirectional,
            )

        self.lstmAb = lstm()
        self.lstmTi = lstm()
        self.fc = nn.Linear(layout.hidden * dirs * 2, layout.outputs)

    def read(self, lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 0:  # the documented rule: a field of no known word reads as zeros
            return x.new_zeros(1, self.fc.in_features // 2)
        out, (h_n, _) = lstm(x)
        if self.layout.pooling == "last-output":
            return out[:, -1, :]
        dirs = 2 if self.layout.bidirectional else 1
        return torch.cat(list(h_n[-dirs:]), dim=1)  # the top layer's final states

    def forward(self, ab: torch.Tensor, ti: torch.Tensor) -> torch.Tensor:
        out = torch.cat([self.read(self.lstmAb, ab), self.read(self.lstmTi, ti)], dim=1)
        return self.fc(out)


def seed_net(layout: Layout, seed: int = 0) -> SeedNet:
    torch.manual_seed(seed)
    net = SeedNet(layout)
    with torch.no_grad():  # larger weights, so P moves well away from 0.5 across cells
        for p in net.parameters():
            p.mul_(3.0)
    return net.eval()


def vocabulary(papers: list[dict[str, str]], dims: int = 5, seed: int = 0) -> KeyedVectors:
    """Random vectors for the papers' words, every fifth word left out (so some are unknown)."""
    words = list(
        dict.fromkeys(t for p in papers for f in ("title", "abstract") for t in tokenize(p[f]))
    )
    words = [w for i, w in enumerate(words) if i % 5 != 4]
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(vector_size=dims)
    kv.add_vectors(words, rng.standard_normal((len(words), dims)).astype(np.float32))
    return kv


def write_sources(
    tmp: Path, net: SeedNet, kv: KeyedVectors, spec: dict[str, object], binary: bool
) -> tuple[Path, Path, Path]:
    """checkpoint.pt, vectors (text or binary word2vec) and spec.json, as a researcher has them."""
    checkpoint, vectors, spec_path = tmp / "checkpoint.pt", tmp / "vectors.w2v", tmp / "spec.json"
    torch.save(net.state_dict(), checkpoint)
    kv.save_word2vec_format(str(vectors), binary=binary)
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    return checkpoint, vectors, spec_path


class Reference:
    """The author's forward pass over our tokens: P and the positive class's logit."""

    def __init__(self, net: SeedNet, kv: KeyedVectors, positive_class: int = 1) -> None:
        self.net, self.kv, self.positive = net, kv, positive_class
        self.embedding = nn.Embedding.from_pretrained(torch.tensor(np.asarray(kv.vectors)))

    def _embed(self, tokens: list[str]) -> torch.Tensor:
        idx = [self.kv.key_to_index[t] for t in tokens if t in self.kv.key_to_index]
        return self.embedding(torch.tensor(idx, dtype=torch.long)).unsqueeze(0)

    @torch.inference_mode()
    def outputs(self, title: list[str], abstract: list[str]) -> torch.Tensor:
        return self.net(self._embed(abstract), self._embed(title))[0].double()

    def logit(self, title: list[str], abstract: list[str]) -> float:
        """log P / (1 - P) of the positive class."""
        out = self.outputs(title, abstract)
        z = out[0] if len(out) == 1 else out[1] - out[0]
        return float(z if self.positive == 1 else -z)

    def probability(self, title: list[str], abstract: list[str]) -> float:
        """Softmax over two outputs, as the author's; the sigmoid of a single one."""
        out = self.outputs(title, abstract)
        if len(out) == 2:
            return float(torch.softmax(out, 0)[self.positive])
        p = float(torch.sigmoid(out[0]))
        return p if self.positive == 1 else 1.0 - p
