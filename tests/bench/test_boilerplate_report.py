"""The boilerplate counts on the real labelled file: what each rule removes there."""

from __future__ import annotations

import re
from pathlib import Path

from bench.boilerplate_report import boilerplate_report

# Every distinct sentence the rules remove from the file (digits as N), read by eye: all
# are publisher or database lines, none a sentence of the paper.
SEEN = {
    "Copyright", "copyright", "Crown Copyright", "Copyright N ACM.", "(N ref)", "(N ref.)",
    "(N p ref)", "(PsycINFO Database Record", "(PsycINFO Database Record (c) N APA, all rights "
    "reserved).", "PsycINFO Database Record (c) N APA, all rights reserved.",
    "Copyright N by the American Psychological Association.",
    "Copyright N by the American Psychological Association, Inc.",
    "Copyright N by the American Psycholoaical Association.",
    "Copyright is held by the International World Wide Web Conference Committee (IWNCN).",
    "Copyright of the Academy of Management, all rights reserved.",
    "Copyright N by Piyoros Tungthamthiti, Kiyoaki Shirai, and Masnizah Mohd.",
    "Copyright N Presses de Sciences Po. All rights reserved.",
    "Copyright N, Mary Ann Liebert, Inc.", "Copyright N by the American Dialect Society.",
    "Copyright is held by the owner/author(s).",
    "Copyright, N, by the President and Fellows of Harvard College.",
    "copy; N by Society for the Study of Social Problems, Inc. All rights reserved.",
}  # fmt: skip


def test_counts_on_the_labelled_file(data_path: Path) -> None:
    report = boilerplate_report(data_path)
    assert report.rows == 3300
    assert report.changed == {"abstract": 530}  # no title is changed
    assert report.emptied == {"abstract": 308}
    assert dict(report.by_rule) == {
        ("abstract", "placeholder"): 308,
        ("abstract", "copyright"): 190,
        ("abstract", "psycinfo"): 29,
        ("abstract", "reference_count"): 17,
        ("abstract", "rights_reserved"): 3,
    }
    placeholders = {t for rule, t in report.removed if rule == "placeholder"}
    assert placeholders == {"[No abstract available]"}


def test_no_removed_sentence_is_the_paper_s_own(data_path: Path) -> None:
    removed = {re.sub(r"\d+", "N", t) for r, t in boilerplate_report(data_path).removed}
    assert removed - {"[No abstract available]"} == SEEN
