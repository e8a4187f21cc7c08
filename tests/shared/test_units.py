"""Cutting a field into occlusion units, and the input checks that name the bad field."""

from __future__ import annotations

import pytest

from shared.units import (
    DEFAULT_UNIT_OPTIONS,
    MAX_FIELD_CHARS,
    MAX_FIELD_TOKENS,
    UNITS,
    InputError,
    boilerplate_option,
    keeps_boilerplate,
    split_units,
)

VOCAB = {"social", "media", "use", "we", "study", "it", "peer-to-peer", "don't", "results"}


def test_word_units_keep_case_in_labels():
    fu = split_units("title", "Social MEDIA, Peer-to-peer use!", "word", VOCAB)
    assert fu.name == "title" and fu.unit == "word"
    assert fu.units == [["social"], ["media"], ["peer-to-peer"], ["use"]]
    assert fu.labels == ["Social", "MEDIA", "Peer-to-peer", "use"]
    assert fu.prefix_lengths == [1, 2, 3, 4]
    assert fu.skipped == []
    assert fu.text == "Social MEDIA, Peer-to-peer use!"


def test_sentence_units():
    text = "We study it. Results are Unknowable here! Zebra quokka?"
    fu = split_units("abstract", text, "sentence", VOCAB)
    assert fu.labels == ["We study it.", "Results are Unknowable here!", "Zebra quokka?"]
    assert fu.units == [
        ["we", "study", "it"],
        ["results", "are", "unknowable", "here"],
        ["zebra", "quokka"],
    ]
    assert fu.tokens == [t for u in fu.units for t in u]
    assert fu.tokens_upto(1) == ["we", "study", "it", "results", "are", "unknowable", "here"]


def test_sentence_without_words_is_not_a_unit():
    fu = split_units("abstract", "We study it. ... !!! Results.", "sentence", VOCAB)
    assert fu.units == [["we", "study", "it"], ["results"]]
    assert len(fu.labels) == len(fu.units)


def test_prefix_lengths_count_only_known_tokens():
    fu = split_units("title", "Zebra social quokka media use", "word", VOCAB)
    assert fu.prefix_lengths == [0, 1, 1, 2, 3]
    assert fu.skipped == ["zebra", "quokka"]
    assert fu.known_tokens(VOCAB) == ["social", "media", "use"]
    sentences = split_units("abstract", "Zebra quokka. We study it. Aardvark.", "sentence", VOCAB)
    assert sentences.prefix_lengths == [0, 3, 3]


@pytest.mark.parametrize("unit", ["word", "sentence"])
def test_a_field_of_unknown_words_is_one_unit_read_as_nothing(unit):
    split = split_units("abstract", "Zebra quokka. Aardvark!", unit, VOCAB)
    assert split.units == [["zebra", "quokka", "aardvark"]] and split.prefix_lengths == [0]
    assert split.read_as_nothing and split.skipped == ["zebra", "quokka", "aardvark"]
    assert split.labels == ["Zebra quokka. Aardvark!"]
    assert not split_units("abstract", "We study it.", unit, VOCAB).read_as_nothing


@pytest.mark.parametrize(
    "field, text, pattern",
    [
        ("title", "", "title is empty"),
        ("abstract", "   \n\t ", "abstract is empty"),
        ("title", None, "title must be text"),
        ("abstract", 42, "abstract must be text, not int"),
        ("title", ["social"], "title must be text"),
        ("title", "... !!! ---", "title has no words"),
        ("title", "x" * (MAX_FIELD_CHARS + 1), "title is 20,001 characters"),
        ("abstract", "use " * (MAX_FIELD_TOKENS + 1), "abstract has 1,501 words"),
    ],
)
def test_bad_input_names_the_field(field, text, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        split_units(field, text, "word", VOCAB)
    assert info.value.field == field
    assert field in str(info.value)


def test_token_limit_applies_to_sentence_units_too():
    text = "We study it. " * (MAX_FIELD_TOKENS // 3 + 1)
    assert len(text) <= MAX_FIELD_CHARS
    with pytest.raises(InputError, match="abstract has") as info:
        split_units("abstract", text, "sentence", VOCAB)
    assert info.value.field == "abstract"


def test_limits_are_inclusive():
    text = "use " * MAX_FIELD_TOKENS
    assert len(split_units("abstract", text, "word", VOCAB).units) == MAX_FIELD_TOKENS
    exact = "use " + "x" * (MAX_FIELD_CHARS - 4)
    assert len(exact) == MAX_FIELD_CHARS
    assert split_units("title", exact, "word", VOCAB).prefix_lengths[0] == 1


@pytest.mark.parametrize("unit", ["char", "Word", "", "paragraph"])
def test_bad_unit_name(unit):
    with pytest.raises(InputError, match="title: unit must be one of word, sentence") as info:
        split_units("title", "Social media", unit, VOCAB)
    assert info.value.field == "title"


def test_unknown_words_are_kept_for_display():
    fu = split_units("title", "Quokka social", "word", VOCAB)
    assert fu.units == [["quokka"], ["social"]]
    assert fu.labels == ["Quokka", "social"]


def test_every_surface_defaults_to_the_one_mapping():
    """The CLI options, a submission and a job's columns all read DEFAULT_UNITS."""
    from shared.cli.engine import explain
    from shared.cli.submit import submit
    from shared.jobs.submit import Submission
    from shared.models import Job

    for command in (explain, submit):
        defaults = {p.name: p.default for p in command.params}
        assert {k: defaults[k] for k in DEFAULT_UNIT_OPTIONS} == DEFAULT_UNIT_OPTIONS
        choices = {tuple(p.type.choices) for p in command.params if p.name in DEFAULT_UNIT_OPTIONS}
        assert choices == {UNITS}
    sub = Submission(team_id=1, submitter_id=None, papers=[])
    assert {"title_unit": sub.title_unit, "abstract_unit": sub.abstract_unit} == (
        DEFAULT_UNIT_OPTIONS
    )
    columns = Job.__table__.columns
    assert {k: columns[k].default.arg for k in DEFAULT_UNIT_OPTIONS} == DEFAULT_UNIT_OPTIONS
    assert DEFAULT_UNIT_OPTIONS == {"title_unit": "word", "abstract_unit": "sentence"}


@pytest.mark.parametrize("unit", UNITS)
def test_a_placeholder_is_left_out_and_read_as_nothing(unit):
    split = split_units("abstract", "[No abstract available]", unit, VOCAB)
    assert split.units == [[]] and split.prefix_lengths == [0] and split.read_as_nothing
    assert split.labels == ["[No abstract available]"] and split.skipped == []
    assert split.removed == [("placeholder", "[No abstract available]")]
    assert split.to_json()["left_out"] == [
        {"rule": "placeholder", "text": "[No abstract available]"}
    ]


def test_a_trailing_publisher_line_is_left_out():
    text = "We study it. Results. Copyright 2013 ACM."
    split = split_units("abstract", text, "sentence", VOCAB)
    assert split.labels == ["We study it.", "Results."]
    assert split.removed == [("copyright", "Copyright 2013 ACM.")]
    assert split.text == text  # the field as given; only its units lose the line
    assert split_units("abstract", text, "word", VOCAB).labels[-1] == "Results"


def test_keep_boilerplate_keeps_them():
    text = "We study it. Copyright 2013 ACM."
    kept = split_units("abstract", text, "sentence", VOCAB, keep_boilerplate=True)
    assert kept.labels == ["We study it.", "Copyright 2013 ACM."] and kept.removed == []
    kept = split_units("abstract", "[No abstract available]", "word", VOCAB, True)
    assert kept.tokens == ["no", "abstract", "available"] and kept.removed == []


def test_the_units_mapping_carries_the_option():
    assert keeps_boilerplate(boilerplate_option(True))
    assert not keeps_boilerplate(boilerplate_option(False))
    assert not keeps_boilerplate(DEFAULT_UNIT_OPTIONS)
