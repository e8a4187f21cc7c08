"""What the boilerplate rules (shared/boilerplate.py) remove from the labelled file.

    python bench/boilerplate_report.py [labelled-papers.csv] [--sample 30]

Counts, over every row's title and abstract (the abstract without its Scopus title prefix,
as training reads it), how many fields each rule changes, and prints a random sample of the
removed sentences to read by eye.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from shared.boilerplate import RULES, Removed, strip_boilerplate
from shared.text import strip_title_prefix

# The labelled papers live beside the clone, as tests/conftest.py expects them.
DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "labelled-papers.csv"


@dataclass
class Report:
    rows: int = 0
    changed: Counter[str] = field(default_factory=Counter)  # fields changed, per field name
    emptied: Counter[str] = field(default_factory=Counter)  # fields left with nothing
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)  # (field, rule): fields
    removed: list[Removed] = field(default_factory=list)


def boilerplate_report(path: Path) -> Report:
    report = Report()
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            report.rows += 1
            title = row["title"].strip()
            fields = {
                "title": title,
                "abstract": strip_title_prefix(title, row["abstract"].strip()),
            }
            for name, text in fields.items():
                clean, removed = strip_boilerplate(text)
                if removed:
                    report.changed[name] += 1
                    report.emptied[name] += not clean
                    report.by_rule.update((name, rule) for rule in {r for r, _ in removed})
                    report.removed.extend(removed)
    return report


def print_report(report: Report, sample: int, seed: int = 0) -> None:
    print(f"{report.rows:,} rows")
    for name in ("title", "abstract"):
        print(f"{name}: {report.changed[name]:,} changed, {report.emptied[name]:,} left empty")
    print(f"\n{'field':<10}{'rule':<18}{'fields':>8}")
    for rule in RULES:
        for name in ("title", "abstract"):
            if report.by_rule[name, rule.name]:
                print(f"{name:<10}{rule.name:<18}{report.by_rule[name, rule.name]:>8,}")
    tails = [r for r in report.removed if r[0] != "placeholder"]
    print(f"\n{min(sample, len(tails))} random removed sentences (placeholders left out):")
    for rule, text in random.Random(seed).sample(tails, min(sample, len(tails))):
        print(f"  {rule:<16} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--sample", type=int, default=30)
    args = parser.parse_args()
    print_report(boilerplate_report(args.csv), args.sample)


if __name__ == "__main__":
    main()
