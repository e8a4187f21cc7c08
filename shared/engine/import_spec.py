"""What an imported checkpoint holds: the spec a researcher writes, checked against the
state dict's keys and shapes, and the architecture and weights it comes to in our layout.

A spec names, per field, the ``nn.LSTM`` that reads it and how its output is pooled, and the
``nn.Linear`` head over the fields' features (concatenated in ``head_order``). Every problem
is one line naming the spec key or the state dict key, and the shapes involved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from shared.engine.classifier import POOLINGS, Architecture
from shared.units import FIELDS

SPEC_KEYS = ("fields", "head", "head_order", "positive_class", "lowercase")
FIELD_KEYS = ("lstm", "pooling")
GATES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class ImportProblem(ValueError):
    """A checkpoint, vectors file or spec that cannot be imported; one line saying why."""


@dataclass(frozen=True)
class Spec:
    lstms: dict[str, str]  # field -> the state dict's LSTM name
    pooling: dict[str, str]
    head: str
    head_order: tuple[str, ...]
    positive_class: int
    lowercase: bool

    def to_json(self) -> dict[str, Any]:
        fields = {f: {"lstm": self.lstms[f], "pooling": self.pooling[f]} for f in self.lstms}
        return {
            "fields": fields,
            "head": self.head,
            "head_order": list(self.head_order),
            "positive_class": self.positive_class,
            "lowercase": self.lowercase,
        }


def _unknown(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ImportProblem(f"spec{where}: unknown key {key!r}; use {', '.join(allowed)}")


def _field(name: str, entry: Any) -> tuple[str, str]:
    where = f"fields.{name}"
    if not isinstance(entry, dict):
        raise ImportProblem(
            f'spec key {where!r} must be an object: {{"lstm": ..., "pooling": ...}}'
        )
    _unknown(entry, FIELD_KEYS, f" key {where!r}")
    lstm, pooling = entry.get("lstm"), entry.get("pooling")
    if not isinstance(lstm, str) or not lstm:
        raise ImportProblem(f"spec key '{where}.lstm' must name the nn.LSTM in the state dict")
    if pooling not in POOLINGS:
        raise ImportProblem(f"spec key '{where}.pooling' is {pooling!r}: use one of {POOLINGS}")
    return lstm, str(pooling)


def parse_spec(text: str) -> Spec:
    """The spec from its JSON text; ImportProblem names the first bad key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblem(f"spec is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ImportProblem("spec must be a JSON object with keys " + ", ".join(SPEC_KEYS))
    _unknown(data, SPEC_KEYS, "")
    fields = data.get("fields")
    if not isinstance(fields, dict) or sorted(fields) != sorted(FIELDS):
        got = sorted(fields) if isinstance(fields, dict) else fields
        raise ImportProblem(f"spec key 'fields' must hold {', '.join(FIELDS)}, not {got}")
    parsed = {f: _field(f, fields[f]) for f in FIELDS}
    head, order = data.get("head"), data.get("head_order")
    if not isinstance(head, str) or not head:
        raise ImportProblem("spec key 'head' must name the nn.Linear in the state dict")
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(FIELDS):
        raise ImportProblem(
            f"spec key 'head_order' must list {', '.join(FIELDS)} once each, in the order the "
            f"head reads their features, not {order!r}"
        )
    positive = data.get("positive_class")
    if positive not in (0, 1) or isinstance(positive, bool):
        raise ImportProblem(f"spec key 'positive_class' must be 0 or 1, not {positive!r}")
    lowercase = data.get("lowercase", True)
    if not isinstance(lowercase, bool):
        raise ImportProblem(f"spec key 'lowercase' must be true or false, not {lowercase!r}")
    lstms = {f: parsed[f][0] for f in FIELDS}
    pooling = {f: parsed[f][1] for f in FIELDS}
    return Spec(lstms, pooling, head, tuple(order), int(positive), lowercase)


@dataclass(frozen=True)
class LstmShape:
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool

    def describe(self) -> str:
        kind = "bidirectional" if self.bidirectional else "unidirectional"
        return f"{self.num_layers} layer(s) of {self.hidden_size}, {kind}, input {self.input_size}"


def _shape(t: Tensor) -> str:
    return str(tuple(t.shape))


def _lstm_shape(state: Mapping[str, Tensor], name: str) -> LstmShape:
    first, hh = f"{name}.weight_ih_l0", f"{name}.weight_hh_l0"
    if first not in state or hh not in state:
        found = sorted({k.rsplit(".", 1)[0] for k in state if k.endswith(".weight_ih_l0")})
        raise ImportProblem(
            f"the state dict has no nn.LSTM {name!r} (no key {first}); its LSTMs: "
            + (", ".join(found) or "none")
        )
    if state[first].dim() != 2 or state[hh].dim() != 2:
        raise ImportProblem(f"{first} has shape {_shape(state[first])}: an LSTM weight is 2-d")
    layers = 0
    while f"{name}.weight_ih_l{layers}" in state:
        layers += 1
    hidden = int(state[hh].shape[1])
    bidirectional = f"{name}.weight_ih_l0_reverse" in state
    return LstmShape(int(state[first].shape[1]), hidden, layers, bidirectional)


def _expected(name: str, shape: LstmShape) -> dict[str, tuple[int, ...]]:
    """Every key an ``nn.LSTM`` of that shape has, and its shape."""
    h, dirs = shape.hidden_size, 2 if shape.bidirectional else 1
    out: dict[str, tuple[int, ...]] = {}
    for n in range(shape.num_layers):
        width = shape.input_size if n == 0 else dirs * h
        for suffix in ("", "_reverse")[:dirs]:
            sizes: dict[str, tuple[int, ...]] = {"weight_ih": (4 * h, width)}
            sizes |= {"weight_hh": (4 * h, h), "bias_ih": (4 * h,), "bias_hh": (4 * h,)}
            out |= {f"{name}.{g}_l{n}{suffix}": s for g, s in sizes.items()}
    return out


def check_lstm(state: Mapping[str, Tensor], name: str) -> LstmShape:
    """The shape of the LSTM ``name`` in ``state``; every one of its keys checked."""
    shape = _lstm_shape(state, name)
    expected = _expected(name, shape)
    for key in state:
        if key.startswith(f"{name}.") and key not in expected:
            raise ImportProblem(
                f"{key} is not a key of an nn.LSTM with {shape.describe()} "
                "(projections, proj_size, are not supported)"
            )
    has_bias = f"{name}.bias_ih_l0" in state
    for key, want in expected.items():
        if key not in state and not (key.split(".")[-1].startswith("bias_") and not has_bias):
            raise ImportProblem(f"the state dict lacks {key} {want} ({name}: {shape.describe()})")
        if key in state and tuple(state[key].shape) != want:
            raise ImportProblem(
                f"{key} has shape {_shape(state[key])}, expected {want} for {shape.describe()}"
            )
    return shape


def _same_shape(spec: Spec, shapes: dict[str, LstmShape], vector_size: int) -> LstmShape:
    """The fields' LSTMs must match each other (one hidden size and depth in our layout) and
    read vectors of the file's size."""
    first, *rest = FIELDS
    for f in (first, *rest):
        if shapes[f].input_size != vector_size:
            key = f"{spec.lstms[f]}.weight_ih_l0"
            raise ImportProblem(
                f"{key} reads {shapes[f].input_size}-d input, but the vectors are {vector_size}-d"
            )
        if shapes[f] != shapes[first]:
            raise ImportProblem(
                f"{spec.lstms[f]} ({shapes[f].describe()}) and {spec.lstms[first]} "
                f"({shapes[first].describe()}) differ: every field's LSTM must have one shape"
            )
    return shapes[first]


def _head(state: Mapping[str, Tensor], spec: Spec, width: int) -> tuple[Tensor, Tensor]:
    """The head's weight [C, F] and bias [C] (zeros if it has none), checked."""
    w_key, b_key = f"{spec.head}.weight", f"{spec.head}.bias"
    if w_key not in state:
        raise ImportProblem(f"the state dict has no nn.Linear {spec.head!r} (no key {w_key})")
    weight = state[w_key]
    features = len(FIELDS) * width
    order = " + ".join(f"{f} {width}" for f in spec.head_order)
    if weight.dim() != 2 or weight.shape[0] not in (1, 2) or weight.shape[1] != features:
        raise ImportProblem(
            f"{w_key} has shape {_shape(weight)}, expected (1 or 2, {features}): 1 output (a "
            f"logit) or 2 (softmax) over head_order's features, {order}"
        )
    bias = state.get(b_key, weight.new_zeros(weight.shape[0]))
    if tuple(bias.shape) != (weight.shape[0],):
        raise ImportProblem(f"{b_key} has shape {_shape(bias)}, expected ({weight.shape[0]},)")
    return weight, bias


def _encoder_weights(
    state: Mapping[str, Tensor], spec: Spec, shape: LstmShape
) -> dict[str, Tensor]:
    """Each field's LSTM keys under our names: layer n's forward and backward (``_reverse``)
    directions are ``layers.n.fwd`` and ``layers.n.bwd``, unidirectional LSTMs of one layer.
    A bias-free LSTM (``bias=False``) gets zero biases, which read the same."""
    ours: dict[str, Tensor] = {}
    zeros = torch.zeros(4 * shape.hidden_size)
    for f in FIELDS:
        for key in _expected(spec.lstms[f], shape):
            gate, layer = key.rsplit(".", 1)[1].split("_l")
            n, direction = (layer[:-8], "bwd") if layer.endswith("_reverse") else (layer, "fwd")
            ours[f"encoders.{f}.layers.{n}.{direction}.{gate}_l0"] = state.get(key, zeros)
    return ours


def convert_state(
    state: Mapping[str, Tensor], spec: Spec, vector_size: int
) -> tuple[Architecture, dict[str, Tensor]]:
    """Our architecture and state dict for ``state`` read as ``spec`` says; the head's
    columns are put in our field order, so nothing downstream needs ``head_order``."""
    shapes = {f: check_lstm(state, spec.lstms[f]) for f in FIELDS}
    shape = _same_shape(spec, shapes, vector_size)
    width = (2 if shape.bidirectional else 1) * shape.hidden_size
    weight, bias = _head(state, spec, width)
    read = {k for f in FIELDS for k in _expected(spec.lstms[f], shape)}
    if unread := sorted(set(state) - read - {f"{spec.head}.weight", f"{spec.head}.bias"}):
        raise ImportProblem(
            f"the state dict key {unread[0]} is read by nothing in the spec (its LSTMs "
            f"{', '.join(spec.lstms.values())} and head {spec.head})"
        )
    ours = _encoder_weights(state, spec, shape)
    blocks = {f: weight[:, i * width : (i + 1) * width] for i, f in enumerate(spec.head_order)}
    ours["head.weight"] = torch.cat([blocks[f] for f in FIELDS], dim=1)
    ours["head.bias"] = bias
    arch = Architecture(
        fields=FIELDS,
        vector_size=vector_size,
        hidden_size=shape.hidden_size,
        num_layers=shape.num_layers,
        num_classes=int(weight.shape[0]),
        positive_class=spec.positive_class,
        dropout=0.0,
        bidirectional=shape.bidirectional,
        pooling=dict(spec.pooling),
    )
    return arch, {k: v.detach().to(torch.float32).contiguous() for k, v in ours.items()}
