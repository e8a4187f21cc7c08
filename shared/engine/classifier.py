"""The classifier: one stack of bidirectional LSTMs per text field, joined by one linear layer.

Each layer keeps its two directions as separate unidirectional LSTMs so the occlusion engine
can run the first layer's forward direction once per text and share it across prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from shared.engine.options import TrainConfig
from shared.units import FIELDS


@dataclass(frozen=True)
class Architecture:
    fields: tuple[str, ...] = TrainConfig.fields
    vector_size: int = TrainConfig.vector_size
    hidden_size: int = TrainConfig.hidden_size
    num_layers: int = TrainConfig.num_layers
    num_classes: int = 2
    positive_class: int = 1
    dropout: float = 0.3

    @property
    def feature_size(self) -> int:
        return len(self.fields) * 2 * self.hidden_size

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["fields"] = list(self.fields)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Architecture:
        fields = data.get("fields", FIELDS)
        assert isinstance(fields, list | tuple)
        kwargs = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        kwargs["fields"] = tuple(str(f) for f in fields)
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


def weights(lstm: nn.LSTM) -> Weights:
    w_ih, w_hh, b_ih, b_hh = (getattr(lstm, n) for n in lstm._flat_weights_names)
    return Weights(w_ih, w_hh, b_ih + b_hh)


class BiLayer(nn.Module):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.bwd = nn.LSTM(input_size, hidden_size, batch_first=True)

    def run(self, x: Tensor, lengths: Tensor, need_outputs: bool = True) -> tuple[Tensor, Tensor]:
        """Both directions over a padded batch: (outputs [B, L, 2H] or empty, final [B, 2H]).

        The final state is the forward direction after the last token and the backward
        direction after the first token, i.e. each direction has read the whole text.
        """
        out_f, h_f = run_direction(self.fwd, x, lengths)
        out_b_rev, h_b = run_direction(self.bwd, reverse_padded(x, lengths), lengths)
        if not need_outputs:
            return x.new_empty(0), torch.cat([h_f, h_b], dim=1)
        out_b = reverse_padded(out_b_rev, lengths)
        return torch.cat([out_f, out_b], dim=2), torch.cat([h_f, h_b], dim=1)


class FieldEncoder(nn.Module):
    """A stack of bidirectional LSTM layers reading one field."""

    def __init__(self, vector_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        sizes = [vector_size] + [2 * hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(BiLayer(s, hidden_size) for s in sizes)
        self.hidden_size = hidden_size
        self.vector_size = vector_size

    def layer(self, i: int) -> BiLayer:
        layer = self.layers[i]
        assert isinstance(layer, BiLayer)
        return layer

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Final-state features [B, 2H]; a row of length 0 (nothing read) gives zeros."""
        features = x.new_zeros(x.shape[0], 2 * self.hidden_size)
        nonempty = lengths > 0
        if bool(nonempty.any()):
            features[nonempty] = self.encode(x[nonempty], lengths[nonempty])[1]
        return features

    def outputs(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Top outputs [B, L, 2H] and features [B, 2H] of every row; a row of length 0 (a
        field read as nothing) gives zeros, as in ``forward``."""
        outs = x.new_zeros(x.shape[0], x.shape[1], 2 * self.hidden_size)
        features = x.new_zeros(x.shape[0], 2 * self.hidden_size)
        nonempty = lengths > 0
        if bool(nonempty.any()):
            top, final = self.encode(x[nonempty], lengths[nonempty], top_outputs=True)
            outs[nonempty, : top.shape[1]] = top
            features[nonempty] = final
        return outs, features

    def encode(
        self, x: Tensor, lengths: Tensor, start: int = 0, top_outputs: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Run layers[start:] on non-empty rows: (top outputs [B, L, 2H] or empty, features)."""
        final = x.new_empty(0)
        for i in range(start, len(self.layers)):
            need = top_outputs or i < len(self.layers) - 1
            x, final = self.layer(i).run(x, lengths, need_outputs=need)
        return x, final


class Classifier(nn.Module):
    """Fields -> per-field final states -> concatenated features -> linear -> logits."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.encoders = nn.ModuleDict(
            {
                f: FieldEncoder(arch.vector_size, arch.hidden_size, arch.num_layers)
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
        """inputs: field -> (padded vectors [B, L, D], lengths [B]); returns [B, F*2H]."""
        return torch.cat([self.encoder(f)(*inputs[f]) for f in self.arch.fields], dim=1)

    def forward(self, inputs: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
        return self.head(self.dropout(self.features(inputs)))

    def decision_weights(self) -> tuple[Tensor, Tensor]:
        """Weights w and bias b with logit(P positive) = features @ w + b.

        Softmax over two classes is a sigmoid of the logit difference, which is what lets
        the occlusion grid add independent per-field terms.
        """
        pos = self.arch.positive_class
        neg = 1 - pos
        w = (self.head.weight[pos] - self.head.weight[neg]).detach()
        b = (self.head.bias[pos] - self.head.bias[neg]).detach()
        return w, b

    def field_slices(self) -> dict[str, slice]:
        width = 2 * self.arch.hidden_size
        return {f: slice(i * width, (i + 1) * width) for i, f in enumerate(self.arch.fields)}


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
