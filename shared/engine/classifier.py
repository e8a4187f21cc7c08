"""The classifier: one stack of LSTMs per text field, joined by one linear layer.

Each layer keeps its two directions as separate unidirectional LSTMs so the occlusion engine
can run the first layer's forward direction once per text and share it across prefixes.
A field's features are its top layer's pooled state, one of ``POOLINGS``: ``final-state``
(each direction after reading the whole text: h_n, as our own models) or ``last-output``
(the output at the last position, ``out[:, -1, :]``, as the seed author's: for the backward
direction that is its state after reading only the last token). Unidirectional stacks have no
backward direction, and for them the two poolings coincide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from shared.engine.options import TrainConfig
from shared.units import FIELDS

FINAL_STATE, LAST_OUTPUT = "final-state", "last-output"
POOLINGS = (FINAL_STATE, LAST_OUTPUT)


@dataclass(frozen=True)
class Architecture:
    fields: tuple[str, ...] = TrainConfig.fields
    vector_size: int = TrainConfig.vector_size
    hidden_size: int = TrainConfig.hidden_size
    num_layers: int = TrainConfig.num_layers
    num_classes: int = 2  # 2: softmax over the head's outputs; 1: its one output is a logit
    positive_class: int = 1
    dropout: float = 0.3
    bidirectional: bool = True
    pooling: Mapping[str, str] = field(default_factory=dict)  # field -> one of POOLINGS

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def feature_size(self) -> int:
        return len(self.fields) * self.directions * self.hidden_size

    def pooling_of(self, name: str) -> str:
        return self.pooling.get(name, FINAL_STATE)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["fields"] = list(self.fields)
        data["pooling"] = dict(self.pooling)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Architecture:
        fields = data.get("fields", FIELDS)
        assert isinstance(fields, list | tuple)
        kwargs = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        kwargs["fields"] = tuple(str(f) for f in fields)
        pooling = kwargs.get("pooling", {})
        assert isinstance(pooling, dict)
        if bad := {str(p) for p in pooling.values()} - set(POOLINGS):
            raise ValueError(f"unknown pooling {sorted(bad)[0]!r}: use one of {POOLINGS}")
        return cls(**kwargs)  # type: ignore[arg-type]


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row of a batch-first padded tensor within its own length; pads stay put."""
    steps = torch.arange(x.shape[1], device=x.device)
    idx = lengths.to(x.device).unsqueeze(1) - 1 - steps.unsqueeze(0)
    idx = torch.where(idx >= 0, idx, steps.unsqueeze(0))
    return x.gather(1, idx.unsqueeze(2).expand(-1, -1, x.shape[2]))


def run_direction(lstm: nn.LSTM, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Run one unidirectional LSTM over a padded batch, packed so it never reads a pad.

    Packing makes every row's result independent of the other rows in the batch.
    Returns (outputs padded to x's length, final hidden state per row).
    """
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, (h_n, _) = lstm(packed)
    padded, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return padded, h_n[-1]


@dataclass(frozen=True)
class Weights:
    """One direction's parameters as plain tensors: gates = x W_ih^T + h W_hh^T + bias."""

    w_ih: Tensor
    w_hh: Tensor
    bias: Tensor


def weights(lstm: nn.LSTM | None) -> Weights:
    assert lstm is not None, "a unidirectional layer has no backward direction"
    w_ih, w_hh, b_ih, b_hh = (getattr(lstm, n) for n in lstm._flat_weights_names)
    return Weights(w_ih, w_hh, b_ih + b_hh)


class BiLayer(nn.Module):
    """One layer: a forward LSTM, and a backward one unless the stack is unidirectional."""

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool = True) -> None:
        super().__init__()
        self.fwd = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.bwd = nn.LSTM(input_size, hidden_size, batch_first=True) if bidirectional else None

    def run(
        self, x: Tensor, lengths: Tensor, need_outputs: bool = True, pooling: str = FINAL_STATE
    ) -> tuple[Tensor, Tensor]:
        """Each direction over a padded batch: (outputs [B, L, dH] or empty, pooled [B, dH]).

        Final state: the forward direction after the last token and the backward direction
        after the first, i.e. each has read the whole text. Last output: the backward
        direction's output at the last position instead, its first step.
        """
        out_f, h_f = run_direction(self.fwd, x, lengths)
        if self.bwd is None:
            return (out_f if need_outputs else x.new_empty(0)), h_f
        out_b_rev, h_b = run_direction(self.bwd, reverse_padded(x, lengths), lengths)
        pooled = torch.cat([h_f, h_b if pooling == FINAL_STATE else out_b_rev[:, 0]], dim=1)
        if not need_outputs:
            return x.new_empty(0), pooled
        out_b = reverse_padded(out_b_rev, lengths)
        return torch.cat([out_f, out_b], dim=2), pooled


class FieldEncoder(nn.Module):
    """A stack of LSTM layers reading one field, pooled as ``pooling`` says."""

    def __init__(
        self,
        vector_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool = True,
        pooling: str = FINAL_STATE,
    ) -> None:
        super().__init__()
        width = (2 if bidirectional else 1) * hidden_size
        sizes = [vector_size] + [width] * (num_layers - 1)
        self.layers = nn.ModuleList(BiLayer(s, hidden_size, bidirectional) for s in sizes)
        self.hidden_size = hidden_size
        self.vector_size = vector_size
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.width = width  # the features' size, and the top outputs'

    def layer(self, i: int) -> BiLayer:
        layer = self.layers[i]
        assert isinstance(layer, BiLayer)
        return layer

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Pooled features [B, dH]; a row of length 0 (nothing read) gives zeros."""
        features = x.new_zeros(x.shape[0], self.width)
        nonempty = lengths > 0
        if bool(nonempty.any()):
            features[nonempty] = self.encode(x[nonempty], lengths[nonempty])[1]
        return features

    def outputs(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Top outputs [B, L, dH] and features [B, dH] of every row; a row of length 0 (a
        field read as nothing) gives zeros, as in ``forward``."""
        outs = x.new_zeros(x.shape[0], x.shape[1], self.width)
        features = x.new_zeros(x.shape[0], self.width)
        nonempty = lengths > 0
        if bool(nonempty.any()):
            top, final = self.encode(x[nonempty], lengths[nonempty], top_outputs=True)
            outs[nonempty, : top.shape[1]] = top
            features[nonempty] = final
        return outs, features

    def encode(
        self, x: Tensor, lengths: Tensor, start: int = 0, top_outputs: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Run layers[start:] on non-empty rows: (top outputs [B, L, dH] or empty, features)."""
        final = x.new_empty(0)
        top = len(self.layers) - 1
        for i in range(start, len(self.layers)):
            need = top_outputs or i < top
            pooling = self.pooling if i == top else FINAL_STATE
            x, final = self.layer(i).run(x, lengths, need_outputs=need, pooling=pooling)
        return x, final


class Classifier(nn.Module):
    """Fields -> per-field pooled states -> concatenated features -> linear -> logits."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.encoders = nn.ModuleDict(
            {
                f: FieldEncoder(
                    arch.vector_size,
                    arch.hidden_size,
                    arch.num_layers,
                    arch.bidirectional,
                    arch.pooling_of(f),
                )
                for f in arch.fields
            }
        )
        self.dropout = nn.Dropout(arch.dropout)
        self.head = nn.Linear(arch.feature_size, arch.num_classes)

    def encoder(self, field: str) -> FieldEncoder:
        encoder = self.encoders[field]
        assert isinstance(encoder, FieldEncoder)
        return encoder

    def features(self, inputs: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
        """inputs: field -> (padded vectors [B, L, D], lengths [B]); returns [B, F*dH]."""
        return torch.cat([self.encoder(f)(*inputs[f]) for f in self.arch.fields], dim=1)

    def forward(self, inputs: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
        return self.head(self.dropout(self.features(inputs)))

    def probability(self, logits: Tensor) -> Tensor:
        """P(positive class) [B] from the head's outputs."""
        if self.arch.num_classes == 1:
            sign = 1.0 if self.arch.positive_class == 1 else -1.0
            return torch.sigmoid(sign * logits[:, 0])
        return torch.softmax(logits, dim=1)[:, self.arch.positive_class]

    def decision_weights(self) -> tuple[Tensor, Tensor]:
        """Weights w and bias b with logit(P positive) = features @ w + b.

        Softmax over two classes is a sigmoid of the logit difference, which is what lets
        the occlusion grid add independent per-field terms; a one-output head is that
        logit already (of class 1; negated when class 0 is the positive one).
        """
        if self.arch.num_classes == 1:
            sign = 1.0 if self.arch.positive_class == 1 else -1.0
            return sign * self.head.weight[0].detach(), sign * self.head.bias[0].detach()
        pos = self.arch.positive_class
        neg = 1 - pos
        w = (self.head.weight[pos] - self.head.weight[neg]).detach()
        b = (self.head.bias[pos] - self.head.bias[neg]).detach()
        return w, b

    def field_slices(self) -> dict[str, slice]:
        width = self.arch.directions * self.arch.hidden_size
        return {f: slice(i * width, (i + 1) * width) for i, f in enumerate(self.arch.fields)}

    def feature_names(self) -> list[str]:
        """``field.direction.index`` for each feature, in the head's order."""
        dirs = ("fwd", "bwd")[: self.arch.directions]
        hidden = range(self.arch.hidden_size)
        return [f"{f}.{d}.{i}" for f in self.arch.fields for d in dirs for i in hidden]


def pad_batch(seqs: Sequence[Tensor], vector_size: int) -> tuple[Tensor, Tensor]:
    """Stack variable-length [L_i, D] tensors into [B, max L, D] plus lengths."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    width = max(1, int(lengths.max())) if len(seqs) else 1
    device = seqs[0].device if len(seqs) else torch.device("cpu")
    out = torch.zeros(len(seqs), width, vector_size, device=device)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = s
    return out, lengths
