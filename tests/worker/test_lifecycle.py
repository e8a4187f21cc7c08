"""A job's life across submissions: resubmitting a cancelled job's papers, finished jobs that
stay finished, cancel against a worker's refresh, the model's first registration, ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shared.config import Settings
from shared.db import session_factory, session_scope
from shared.engine import Model
from shared.jobs.status import cancel_job, refresh_jobs
from shared.jobs.submit import JobRejected, PaperProblem, Submission, check_papers, create_job
from shared.manifest import DEFAULT_MODEL_DIR, read_vocab
from shared.models import Job, JobProblem, RegisteredModel, Result
from shared.registry.catalog import register_model
from tests.worker.support import PAPERS, Poisoned, job_of, make_team, run, store_job, stored_results


def unused(_: RegisteredModel) -> Model:
    raise AssertionError("this chunk must not load the model")


def test_a_cancelled_jobs_paper_submitted_again_is_computed(
    settings: Settings, engine_model: Model
) -> None:
    team = make_team(settings.database_url)
    first_id, todo = store_job(settings, team, PAPERS[:1])
    with session_scope(settings.database_url) as session:
        assert cancel_job(session, session.get_one(Job, first_id))
    assert run(settings, todo, unused).skipped == todo  # cancelled: no live job wants it
    assert stored_results(settings.database_url, first_id)[0]["status"] == "cancelled"
    second_id, again = store_job(settings, team, PAPERS[:1])
    assert again == todo  # nothing else would ever send it
    assert run(settings, again, lambda _: engine_model).done == todo
    assert job_of(settings, second_id).status == "done"
    assert job_of(settings, first_id).status == "cancelled"


def test_the_same_paper_twice_in_one_job_is_sent_once(settings: Settings) -> None:
    _, todo = store_job(settings, make_team(settings.database_url), [PAPERS[0], PAPERS[0]])
    assert len(todo) == 1


def fail_paper(settings: Settings, job_id: int, ids: list[int], model: Model) -> None:
    """Run the job's chunk, and its retries, until the poisoned paper has failed."""
    while ids:
        ids = run(settings, ids, lambda _: model).retry


@pytest.mark.parametrize("n_papers", [1, 2])
def test_a_finished_job_stays_finished_when_its_failed_paper_is_tried_again(
    settings: Settings, engine_model: Model, n_papers: int
) -> None:
    team = make_team(settings.database_url)
    papers = PAPERS[2 - n_papers : 2]  # the poisoned paper, alone or after a good one
    first_id, todo = store_job(settings, team, papers)
    fail_paper(settings, first_id, todo, Poisoned(engine_model, PAPERS[1]["title"]))
    before = job_of(settings, first_id)
    assert before.status == ("failed" if n_papers == 1 else "done")
    second_id, again = store_job(settings, team, PAPERS[1:2])  # resets the shared failed result
    assert again == [todo[-1]]
    seen: list[str] = []

    def watching(_: RegisteredModel) -> Model:  # after the claim refreshed every job
        seen.append(job_of(settings, first_id).status)
        return engine_model

    run(settings, again, watching)
    with session_scope(settings.database_url) as session:
        refresh_jobs(session, [first_id, second_id])
    after = job_of(settings, first_id)
    assert seen == [before.status]
    assert (after.status, after.done, after.failed) == (before.status, before.done, 1)
    assert after.finished_at == before.finished_at
    assert job_of(settings, second_id).status == "done"


def test_cancel_ends_what_no_live_job_needs_and_leaves_shared_results_waiting(
    settings: Settings,
) -> None:
    team = make_team(settings.database_url)
    first_id, todo = store_job(settings, team, PAPERS[:3], sent=True)
    second_id, _ = store_job(settings, team, PAPERS[2:3], sent=True)  # shares the third
    with session_scope(settings.database_url) as session:
        session.get_one(Result, todo[1]).status = "running"  # its worker may be dead
    with session_scope(settings.database_url) as session:
        assert cancel_job(session, session.get_one(Job, first_id))
    assert [r["status"] for r in stored_results(settings.database_url, first_id)] == [
        "cancelled",
        "cancelled",
        "pending",  # the second job still wants it
    ]
    with session_scope(settings.database_url) as session:
        assert cancel_job(session, session.get_one(Job, second_id))
    assert stored_results(settings.database_url, second_id)[0]["status"] == "cancelled"


def test_cancel_leaves_a_job_that_finished_meanwhile_done(settings: Settings) -> None:
    job_id, todo = store_job(settings, make_team(settings.database_url), PAPERS[:1])
    session = session_factory(settings.database_url)()
    try:
        job = session.get_one(Job, job_id)
        assert job.status == "queued"  # what the cancelling request read
        with session_scope(settings.database_url) as worker:  # a chunk finishes the job
            worker.get_one(Result, todo[0]).status = "done"
            refresh_jobs(worker, [job_id])
        assert not cancel_job(session, job)
        assert job.status == "done"
        session.commit()
    finally:
        session.close()
    assert job_of(settings, job_id).status == "done"


def test_two_first_requests_both_register_the_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, second_model_dir: Path
) -> None:
    """Two registrations of one shared model at once (its team NULL, so only the partial
    unique index keeps it single): one row, whichever inserted first."""
    session = session_factory(settings.database_url)()
    real_scalar = session.scalar
    calls: list[Any] = []

    def racing_scalar(*args: Any, **kwargs: Any) -> Any:
        row = real_scalar(*args, **kwargs)
        if not calls:  # the other request inserts right after this one found nothing
            with session_scope(settings.database_url) as other:
                register_model(other, second_model_dir)
        calls.append(row)
        return row

    monkeypatch.setattr(session, "scalar", racing_scalar)
    try:
        row = register_model(session, second_model_dir)
        session.commit()
    finally:
        session.close()
    assert calls[0] is None
    with session_scope(settings.database_url) as check:
        named = select(RegisteredModel.id).where(RegisteredModel.name == row.name)
        assert check.scalars(named).all() == [row.id]


def test_an_external_id_over_300_characters_is_a_problem_naming_id(settings: Settings) -> None:
    vocab = read_vocab(DEFAULT_MODEL_DIR)
    units = {"title": "word", "abstract": "sentence"}
    papers = [{**PAPERS[0], "id": "x" * 300}, {**PAPERS[1], "id": "y" * 301}]
    [problem] = check_papers(papers, vocab, units)
    assert (problem.index, problem.field) == (2, "id") and "300" in problem.message
    team = make_team(settings.database_url)
    with pytest.raises(JobRejected) as rejected, session_scope(settings.database_url) as s:
        sub = Submission(team, None, papers, on_error="reject")
        create_job(s, settings, sub)  # no DataError on PostgreSQL
    assert [p.field for p in rejected.value.problems] == ["id"]
    job_id, _ = store_job(settings, team, papers[:1])
    assert stored_results(settings.database_url, job_id)[0]["status"] == "pending"


def test_by_default_bad_rows_are_left_out_and_kept_as_the_job_s_problems(
    settings: Settings,
) -> None:
    team = make_team(settings.database_url)
    bad = {"title": "?!", "abstract": "We study it."}
    earlier = PaperProblem(7, None, "line 7 is not valid JSON")
    sub = Submission(team, None, [PAPERS[0], bad, PAPERS[1]], indexes=[2, 3, 4],
                     problems=[earlier])  # fmt: skip
    with session_scope(settings.database_url) as session:
        job, todo = create_job(session, settings, sub)
        job_id = job.id
        problems = session.scalars(select(JobProblem).where(JobProblem.job_id == job_id)).all()
        assert [(p.line, p.field) for p in problems] == [(3, "title"), (7, None)]
        assert (job.total, job.rejected, len(todo)) == (2, 2, 2)
    titles = [r["title"] for r in stored_results(settings.database_url, job_id)]
    assert titles == [PAPERS[0]["title"], PAPERS[1]["title"]]


def test_a_submission_with_no_good_row_is_refused_with_every_problem(settings: Settings) -> None:
    team = make_team(settings.database_url)
    bad = {"title": "", "abstract": "We study it."}
    sub = Submission(team, None, [bad], problems=[PaperProblem(3, None, "no abstract")])
    with pytest.raises(JobRejected) as rejected, session_scope(settings.database_url) as s:
        create_job(s, settings, sub)
    assert [p.index for p in rejected.value.problems] == [1, 3]
    assert "no paper could be read" in rejected.value.message
