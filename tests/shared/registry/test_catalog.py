"""Which models a team may use, and an uploaded model imported by a worker's plain function:
a team's import is its own (another team is told there is no such model), a shared name
cannot be taken, a team default replaces the shipped one, and a bad upload ends ``failed``
with the importer's one-line reason and its files forgotten."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import utcnow
from shared.models import ModelStatus, RegisteredModel, StoredFile
from shared.registry.catalog import (
    find_model,
    model_by_id,
    set_team_default,
    team_default,
    team_models,
)
from shared.registry.imports import finish_import
from shared.registry.uploads import start_import
from shared.units import InputError
from tests.fixtures.factories import SHIPPED_SPEC, Member
from tests.shared.engine.seed_layout import Layout, seed_net, vocabulary, write_sources

LAYOUT = Layout(layers=1)
PAPERS = [{"title": "Social media and trust", "abstract": "We survey users. Trust falls."}]


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path, Path]:
    return write_sources(tmp_path, seed_net(LAYOUT), vocabulary(PAPERS), LAYOUT.spec(), False)


def uploaded(
    sessions: sessionmaker[Session], member: Member, sources: tuple[Path, ...], version: str = "1"
) -> int:
    names = ("checkpoint", "vectors", "spec")
    pairs = zip(names, sources, strict=True)
    parts = {p: (path.name, io.BytesIO(path.read_bytes())) for p, path in pairs}
    with sessions.begin() as session:
        row = start_import(session, member.team_id, member.user_id, ("seed", version), parts, 10**8)
        return row.id


def imported(
    sessions: sessionmaker[Session], settings: Settings, member: Member, sources: tuple[Path, ...]
) -> int:
    model_id = uploaded(sessions, member, sources)
    assert finish_import(sessions, settings, model_id) == "ready"
    return model_id


def test_a_teams_model_is_found_by_its_team_only(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, bob: Member, sources
) -> None:
    model_id = imported(sessions, settings, ada, sources)
    with sessions() as session:
        assert find_model(session, settings, ada.team_id, "seed").id == model_id
        assert find_model(session, settings, ada.team_id, "seed:1").id == model_id
        with pytest.raises(InputError, match="no model named 'seed:1'"):
            find_model(session, settings, bob.team_id, "seed:1")
        assert model_by_id(session, bob.team_id, model_id) is None
        assert [m.spec for m in team_models(session, bob.team_id)] == [SHIPPED_SPEC]
        assert [m.spec for m in team_models(session, ada.team_id)] == [SHIPPED_SPEC, "seed:1"]
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_a_team_default_replaces_the_shipped_one_for_that_team(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, bob: Member, sources
) -> None:
    model_id = imported(sessions, settings, ada, sources)
    with sessions.begin() as session:
        set_team_default(session, ada.team_id, session.get_one(RegisteredModel, model_id))
    with sessions() as session:
        assert find_model(session, settings, ada.team_id, None).id == model_id
        assert team_default(session, settings, bob.team_id).spec == SHIPPED_SPEC


def test_a_shared_name_a_taken_version_and_a_missing_file_are_refused(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, sources
) -> None:
    imported(sessions, settings, ada, sources)
    parts = {"checkpoint": ("c.pt", io.BytesIO(b"x")), "vectors": ("v", io.BytesIO(b"x"))}
    with sessions() as session:
        with pytest.raises(InputError, match="every team shares: choose another"):
            start_import(session, ada.team_id, None, ("default", "9"), parts, 10**6)
        with pytest.raises(InputError, match="seed:1 already: give this one a new version"):
            start_import(session, ada.team_id, None, ("seed", "1"), parts, 10**6)
        with pytest.raises(InputError, match=r"spec is missing: upload SPEC\.json"):
            start_import(session, ada.team_id, None, ("seed", "2"), parts, 10**6)
        with pytest.raises(InputError, match="needs a name and a version"):
            start_import(session, ada.team_id, None, (" ", "2"), parts, 10**6)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("spec", "no nn.LSTM 'lstmAbs'"),
        ("pickle", "not a plain state_dict"),
        ("shape", "lstmTi.weight_ih_l0"),
    ],
)
def test_a_bad_upload_fails_with_the_importers_reason_and_can_be_sent_again(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, sources, spoil: str,
    reason: str,
) -> None:  # fmt: skip
    checkpoint, _, spec_path = sources
    good_spec, good_checkpoint = spec_path.read_text(), checkpoint.read_bytes()
    if spoil == "spec":
        spec = json.loads(good_spec)
        spec["fields"]["abstract"]["lstm"] = "lstmAbs"
        spec_path.write_text(json.dumps(spec))
    elif spoil == "pickle":
        torch.save(seed_net(LAYOUT), checkpoint)  # the whole module: pickled classes
    else:
        state = seed_net(LAYOUT).state_dict()
        state["lstmTi.weight_ih_l0"] = torch.zeros(3, 3)
        torch.save(state, checkpoint)
    model_id = uploaded(sessions, ada, sources)
    assert finish_import(sessions, settings, model_id) == "failed"
    with sessions() as session:
        row = session.get_one(RegisteredModel, model_id)
        assert row.status == ModelStatus.FAILED and reason in (row.error or "")
        assert "\n" not in (row.error or "")
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
        with pytest.raises(InputError, match="failed to import"):
            find_model(session, settings, ada.team_id, "seed:1")
    spec_path.write_text(good_spec)
    checkpoint.write_bytes(good_checkpoint)
    assert finish_import(sessions, settings, uploaded(sessions, ada, sources)) == "ready"


def test_an_import_whose_worker_died_fails_when_redelivered(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, sources
) -> None:
    model_id = uploaded(sessions, ada, sources)
    with sessions.begin() as session:  # as a first try that was killed left it
        session.get_one(RegisteredModel, model_id).import_started_at = utcnow()
    assert finish_import(sessions, settings, model_id) == "failed"
    with sessions() as session:
        row = session.get_one(RegisteredModel, model_id)
        assert "the worker stopped while importing it" in (row.error or "")
        assert row.upload is None
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert finish_import(sessions, settings, model_id) == "skipped"


def test_an_unexpected_error_fails_the_import_saying_so(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, sources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def full_disk(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("shared.registry.imports.import_model", full_disk)
    model_id = uploaded(sessions, ada, sources)
    assert finish_import(sessions, settings, model_id) == "failed"
    with sessions() as session:
        error = session.get_one(RegisteredModel, model_id).error or ""
    assert error.startswith("the import stopped unexpectedly (OSError") and "again" in error


def test_a_bare_name_finds_its_newest_ready_version(
    sessions: sessionmaker[Session], settings: Settings, ada: Member, sources
) -> None:
    ready = imported(sessions, settings, ada, sources)
    uploaded(sessions, ada, sources, version="2")  # importing
    with sessions() as session:
        assert find_model(session, settings, ada.team_id, "seed").id == ready
        with pytest.raises(InputError, match="still being imported"):
            find_model(session, settings, ada.team_id, "seed:2")


def test_a_colon_in_a_name_or_version_is_refused(
    sessions: sessionmaker[Session], ada: Member
) -> None:
    with sessions() as session, pytest.raises(InputError, match="may not contain ':'"):
        start_import(session, ada.team_id, None, ("bert:base", "1"), {}, 10**6)


def test_the_sweep_keeps_an_upload_waiting_for_its_import(
    sessions: sessionmaker[Session], ada: Member, sources
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from shared.papers.storage import sweep

    uploaded(sessions, ada, sources)
    with sessions.begin() as session:
        old = utcnow() - timedelta(days=3)  # the workers were down for days
        session.execute(update(StoredFile).values(created_at=old))
        assert sweep(session) == 0
    assert finish_uploads(sessions) == 3


def finish_uploads(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(StoredFile)) or 0
