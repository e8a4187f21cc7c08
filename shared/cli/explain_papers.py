"""What ``occlab explain`` does, for one paper or a file of them (the command is in engine.py)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from shared.config import load_settings
from shared.engine.explanations import explain
from shared.engine.export import to_csv, to_image, to_json
from shared.engine.model_dir import ModelFileError
from shared.engine.runtime import Model, load_model
from shared.engine.threads import set_threads
from shared.papers import FileError, Row, RowError, read_papers
from shared.scales import DEFAULT
from shared.units import InputError


class CommandInputError(Exception):
    """Anything the person running the command has to fix; printed as one line."""


def _model(model_dir: Path | None) -> Model:
    if model_dir is not None and not model_dir.is_dir():
        raise CommandInputError(f"{model_dir}: no such model directory (--model)")
    set_threads(override=load_settings().torch_threads)  # not the machine's every core
    try:
        return load_model(model_dir)
    except ModelFileError as exc:
        raise CommandInputError(str(exc)) from exc


@dataclass(frozen=True)
class Options:
    """What ``occlab explain`` was asked for, the same for one paper and for a file."""

    model_dir: Path | None
    fmt: str  # json, csv, png or svg
    out: Path | None
    units: dict[str, str]
    batch_size: int = 32
    scale: str = DEFAULT  # the heat map's colour scale (png, svg)


def _render(e: Any, opts: Options, full: bool = True) -> bytes:
    fmt = opts.fmt
    if fmt in ("png", "svg"):
        return to_image(e, fmt, opts.scale)
    if fmt == "csv":
        return to_csv(e).encode()
    return (json.dumps(to_json(e, full), ensure_ascii=False) + "\n").encode()


def explain_one_paper(paper: dict[str, str], opts: Options) -> None:
    fmt, out = opts.fmt, opts.out
    if fmt in ("png", "svg") and out is None:
        raise CommandInputError(f"--format {fmt} writes an image: give a file with --out")
    model = _model(opts.model_dir)
    try:
        (e,) = explain(model, [paper], units=opts.units, activations=fmt == "json")
    except InputError as exc:
        raise CommandInputError(str(exc)) from exc
    data = _render(e, opts)
    if out is None:
        sys.stdout.write(data.decode())
    else:
        out.write_bytes(data)
        print(f"P = {e.grid.probability:.4f}; wrote {out}", file=sys.stderr)


def explain_file(papers: Path, opts: Options) -> None:
    """Explain every good row; report each bad row with its line and carry on."""
    out, fmt, units, batch_size = opts.out, opts.fmt, opts.units, opts.batch_size
    if out is None:
        raise CommandInputError("explaining a file writes a directory: give it with --out")
    if not papers.is_file():
        raise CommandInputError(f"{papers}: no such file")
    try:
        parsed = read_papers(papers, load_settings().max_upload_bytes)
    except (FileError, ValueError) as exc:  # ValueError: a malformed OCCLAB_* setting
        raise CommandInputError(str(exc)) from exc
    model = _model(opts.model_dir)
    good, errors = _validate(model, parsed.rows, units)
    errors = sorted(errors + parsed.errors, key=lambda e: e.line)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
        for start in tqdm(range(0, len(good), batch_size), desc="explaining", unit="batch"):
            chunk = good[start : start + batch_size]
            explained = explain(model, [r.paper for r in chunk], units=units, activations=True)
            for row, e in zip(chunk, explained, strict=True):
                record = {
                    "line": row.line,
                    "id": row.external_id,
                    **to_json(e, full_activations=False),
                }
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                if fmt != "json":
                    (out / f"line-{row.line}.{fmt}").write_bytes(_render(e, opts))
    _report(out, papers, good, errors)


def _validate(
    model: Model, rows: list[Row], units: dict[str, str]
) -> tuple[list[Row], list[RowError]]:
    good, errors = [], []
    for row in rows:
        try:
            model.split(row.paper, units)
            good.append(row)
        except InputError as exc:
            errors.append(RowError(row.line, str(exc)))
    return good, errors


def _report(out: Path, papers: Path, good: list[Row], errors: list[RowError]) -> None:
    with (out / "errors.jsonl").open("w", encoding="utf-8") as fh:
        for err in errors:
            fh.write(json.dumps({"line": err.line, "error": err.message}) + "\n")
            print(f"{papers.name}, line {err.line}: {err.message}", file=sys.stderr)
    print(
        f"explained {len(good)} papers, skipped {len(errors)}; wrote {out}/results.jsonl",
        file=sys.stderr,
    )
    if not good:
        raise CommandInputError(f"{papers.name}: no paper could be read; see the lines above")
