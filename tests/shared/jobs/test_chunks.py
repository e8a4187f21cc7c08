"""Chunks are sized by grid cells: a huge paper never holds small ones behind it, and a grid
beyond the cap is refused at submission with the setting named."""

from __future__ import annotations

import pytest

from shared.config import Settings, load_settings
from shared.db import session_scope
from shared.jobs.dispatch import cells_of, plan_chunks
from shared.jobs.submit import JobRejected, Submission, create_job
from shared.models import Result

SETTINGS = load_settings({"OCCLAB_CHUNK_SIZE": "4", "OCCLAB_CHUNK_CELLS": "100"})


def test_small_results_fill_chunks_up_to_the_count() -> None:
    plan = plan_chunks(SETTINGS, list(range(1, 10)), {i: 10 for i in range(1, 10)})
    assert plan == [("occlab", [1, 2, 3, 4]), ("occlab", [5, 6, 7, 8]), ("occlab", [9])]


def test_a_chunk_closes_before_its_cells_pass_the_budget() -> None:
    plan = plan_chunks(SETTINGS, [1, 2, 3, 4], {1: 60, 2: 30, 3: 20, 4: 5})
    assert plan == [("occlab", [1, 2]), ("occlab", [3, 4])]


def test_a_huge_grid_is_a_task_of_its_own_on_the_gpu_queue() -> None:
    plan = plan_chunks(SETTINGS, [1, 2, 3], {1: 5, 2: 100, 3: 5})
    assert plan == [("occlab-gpu", [2]), ("occlab", [1, 3])]


def test_a_big_job_goes_to_the_gpu_queue_in_gpu_sized_chunks() -> None:
    settings = SETTINGS.with_overrides(gpu_threshold=6, gpu_chunk_size=5, gpu_chunk_cells=40)
    plan = plan_chunks(settings, list(range(1, 9)), {i: 5 for i in range(1, 9)} | {8: 31})
    assert plan == [
        ("occlab-gpu", [1, 2, 3, 4, 5]),  # five at most, not the CPU's four
        ("occlab-gpu", [6, 7]),  # 8 would pass the 40-cell budget
        ("occlab-gpu", [8]),
    ]


def test_results_of_unknown_size_chunk_by_count_as_before() -> None:
    plan = plan_chunks(SETTINGS, list(range(1, 7)))
    assert [ids for _, ids in plan] == [[1, 2, 3, 4], [5, 6]]


SHORT = {"title": "Deep learning for text", "abstract": "We study words. It works. We agree."}
LONG_ABSTRACT = " ".join(["we study social networks of words"] * 60)  # 360 words


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_submission_measures_each_grid(settings: Settings, team_id: int) -> None:
    with session_scope(settings.database_url) as session:
        sub = Submission(team_id, None, [SHORT], abstract_unit="word")
        _, todo = create_job(session, settings, sub)
        assert cells_of(session, todo) == {todo[0]: 4 * 7}  # 4 title words x 7 abstract words
        assert session.get_one(Result, todo[0]).cells == 28


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_grid_over_the_cap_is_refused_naming_the_setting(
    settings: Settings, team_id: int
) -> None:
    settings = settings.with_overrides(max_grid_cells=1000)
    long_paper = {"title": SHORT["title"], "abstract": LONG_ABSTRACT}
    with session_scope(settings.database_url) as session:
        sub = Submission(
            team_id, None, [SHORT, long_paper], abstract_unit="word", on_error="reject"
        )
        with pytest.raises(JobRejected) as caught:
            create_job(session, settings, sub)
    [problem] = caught.value.problems
    assert problem.index == 2
    assert "1,440 cells" in problem.message and "OCCLAB_MAX_GRID_CELLS" in problem.message
