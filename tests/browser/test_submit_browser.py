"""Submitting in a real browser at 1280 and 390 px: the split preview updates as one types,
the job page follows the job without a reload, and a CSV goes through both upload steps.

The worker's part is played by writing results as it would (status and probability, then
``refresh_jobs``), which is faster and steadier than starting a worker and a model.
Screenshots land in /tmp/ui-submit-*.png, /tmp/ui-upload-*.png and /tmp/ui-job-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.jobs.status import refresh_jobs
from shared.models import Job, JobItem, Result

TITLE = "Social media and political trust"
ABSTRACT = (
    "We survey 2,000 users of social media. Xqzzyv wrrbltk networks shape trust. "
    "The results matter for online campaigns."
)
CSV = (
    "DOI,Paper Title,Summary\n"
    'd1,Social media and trust,"We study social media. Users matter."\n'
    "d2,Deep learning for text,\n"
    "d3,Online networks,We study online networks.\n"
)


@pytest.fixture(autouse=True)
def _empty_queues(ui_settings: Settings) -> Iterator[None]:
    yield
    client = redis.Redis.from_url(ui_settings.redis_url)
    client.delete(ui_settings.task_queue, ui_settings.gpu_queue)
    client.close()


def width(page: Any) -> int:
    return int(page.viewport_size["width"])


def finish_job(session: Session, job_id: int, fail_last: bool = False) -> None:
    """Write every result of the job as done (the last failed), as the worker would."""
    ids = session.scalars(
        select(JobItem.result_id).where(JobItem.job_id == job_id).order_by(JobItem.position)
    ).all()
    results = [session.get_one(Result, i) for i in ids]
    for result in results:
        result.status = "running"
    session.flush()
    refresh_jobs(session, [job_id])  # moves the job to running and stamps started_at
    for result in results:
        result.status, result.probability = "done", 0.8125
    if fail_last:
        results[-1].status, results[-1].probability = "failed", None
        results[-1].error = "the worker ran out of memory"
    session.flush()
    refresh_jobs(session, [job_id])
    session.commit()


def test_submit_preview_and_follow_the_job(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    log_in(user)
    page.goto(f"{live_server}/submit")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Abstract", exact=True).fill(ABSTRACT)
    preview = page.locator("#preview")
    expect(preview.locator('[data-field="abstract"] .units li')).to_have_count(3)
    expect(preview.locator('[data-field="title"] .units li')).to_have_count(5)
    expect(preview.locator(".units .oov").first).to_have_text(re.compile("Xqzzyv"))
    expect(preview).to_contain_text("Skipped: xqzzyv, wrrbltk")
    page.get_by_text("Words", exact=True).last.click()  # abstract by words: live update
    expect(preview.locator('[data-field="abstract"] .unit-count')).to_have_text("19 words")
    page.get_by_text("Sentences", exact=True).last.click()
    expect(preview.locator('[data-field="abstract"] .unit-count')).to_have_text("3 sentences")
    page.screenshot(path=f"/tmp/ui-submit-{width(page)}.png", full_page=True)

    page.get_by_role("button", name="Explain this paper").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[-1])
    expect(page.locator("#job-summary")).to_have_text("0 of 1 paper explained")
    expect(page.locator("[data-job-badge]")).to_have_text("Queued")
    expect(page.get_by_role("link", name=TITLE)).to_have_attribute(
        "href", re.compile(r"^/results/\d+$")
    )
    finish_job(db_session, job_id)
    expect(page.locator("[data-job-badge]")).to_have_text("Done", timeout=8000)
    expect(page.locator("#job-summary")).to_have_text("1 of 1 paper explained")
    expect(page.locator("[data-item-probability]")).to_have_text("0.812")
    expect(page.locator("#cancel-form")).to_be_hidden()
    page.screenshot(path=f"/tmp/ui-job-{width(page)}.png", full_page=True)


def test_upload_preview_mapping_and_start(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    log_in(user)
    page.goto(f"{live_server}/upload")
    page.get_by_label("File of papers").set_input_files(
        {"name": "papers.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/upload/[\w-]+$"))
    expect(page.get_by_label("Title column")).to_have_value("Paper Title")
    expect(page.get_by_label("Abstract column")).to_have_value("Summary")
    expect(page.get_by_label("ID column (optional)")).to_have_value("DOI")
    table = page.locator("table.preview-table tbody tr")
    expect(table).to_have_count(3)
    expect(page.locator(".problems")).to_contain_text("Line 3")
    # Every column in view at 390 px too (rows stack there), the last one included.
    box = table.first.locator("td").last.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width(page)
    # A change of mapping refreshes the preview in place: ids now come from no column.
    id_column = page.get_by_label("ID column (optional)")
    id_column.focus()
    id_column.select_option("")
    expect(table.first.locator(".cell-id")).to_have_text("—")
    expect(id_column).to_be_focused()  # no reload: keyboard users keep their place
    id_column.select_option("DOI")
    expect(table.first.locator(".cell-id")).to_have_text("d1")
    page.screenshot(path=f"/tmp/ui-upload-{width(page)}.png", full_page=True)

    skip = page.get_by_label(re.compile("Skip the rows with problems"))
    expect(skip).to_be_checked()  # skipping is the default; all-or-nothing is a choice
    skip.uncheck()
    page.get_by_role("button", name="Start job").click()
    expect(page.locator("#form-error")).to_contain_text("rows have problems")
    page.get_by_label(re.compile("Skip the rows with problems")).check()
    page.get_by_role("button", name="Start job").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("#job-summary")).to_have_text("0 of 2 papers explained")
    expect(page.locator("#skipped")).to_contain_text("1 row left out")
    job = db_session.scalars(select(Job)).one()
    assert (job.source_name, job.total) == ("papers.csv", 2)
    finish_job(db_session, job.id, fail_last=True)
    expect(page.locator("#job-summary")).to_have_text("1 of 2 papers explained, 1 failed")
    expect(page.locator("#failure-list")).to_contain_text("the worker ran out of memory")
    expect(page.locator("[data-job-badge]")).to_have_text("Done")
    page.screenshot(path=f"/tmp/ui-job-failed-{width(page)}.png", full_page=True)
    page.get_by_role("link", name="Jobs", exact=True).last.click()
    expect(page.locator("table.jobs-table tbody tr")).to_have_count(1)
    expect(page.locator("table.jobs-table")).to_contain_text("papers.csv")
    page.screenshot(path=f"/tmp/ui-jobs-{width(page)}.png", full_page=True)
