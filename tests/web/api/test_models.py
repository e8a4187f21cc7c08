"""``/api/v1/models`` with a real worker: a checkpoint in the seed author's layout uploaded by
an owner is imported by the worker, its source files gone, and a worker with an empty model
cache (fetching the files from PostgreSQL by hash) runs a job whose grid is the author's own
forward pass in every cell; another team can neither see nor use it."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.engine.dataset import read_labelled_csv
from shared.models import ModelBlob, RegisteredModel, StoredFile
from tests.fixtures.factories import SHIPPED_SPEC
from tests.shared.engine.seed_layout import Layout, Reference, seed_net, vocabulary, write_sources
from tests.worker.support import start_worker, stop_worker, wait_finished, worker_env

LAYOUT = Layout(layers=2)


def upload(client: FlaskClient, headers: dict[str, str], sources: tuple[Path, ...], **form: str):
    checkpoint, vectors, spec = sources
    data: dict[str, Any] = {"name": "seed", "version": "1", **form}
    data |= {
        "checkpoint": (io.BytesIO(checkpoint.read_bytes()), "seed.pt"),
        "vectors": (io.BytesIO(vectors.read_bytes()), "vectors.bin"),
        "spec": (io.BytesIO(spec.read_bytes()), "spec.json"),
    }
    return client.post("/api/v1/models", headers=headers, data=data)


def wait_ready(client: FlaskClient, headers: dict[str, str], url: str, log: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json
        assert body is not None
        if body["status"] != "importing":
            return body
        time.sleep(0.3)
    raise AssertionError(f"the model was not imported in 120 s:\n{log.read_text()[-3000:]}")


def expected_grid(reference: Reference, data: dict[str, Any]) -> list[list[float]]:
    titles, abstracts = data["title_units"], data["abstract_units"]
    return [
        [
            reference.probability(
                [t for u in titles[: i + 1] for t in u], [t for u in abstracts[: j + 1] for t in u]
            )
            for j in range(len(abstracts))
        ]
        for i in range(len(titles))
    ]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_uploaded_model_runs_on_a_worker_with_an_empty_cache_and_only_for_its_team(
    client: FlaskClient, auth: dict[str, str], other_token: str, settings: Settings,
    service_env: dict[str, str], sessions: sessionmaker[Session], data_path: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    papers = [{"title": p.title, "abstract": p.abstract} for p in read_labelled_csv(data_path, 3)]
    net, kv = seed_net(LAYOUT), vocabulary(papers)
    (tmp_path / "src").mkdir()
    sources = write_sources(tmp_path / "src", net, kv, LAYOUT.spec(), binary=True)
    response = upload(client, auth, sources)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.json is not None and response.json["status"] == "importing"
    for path in sources:
        path.unlink()  # from here on the files exist only in the database
    cache = tmp_path / "empty-cache"
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(service_env, OCCLAB_MODEL_CACHE=str(cache)), log)
    try:
        model = wait_ready(client, auth, response.json["url"], log)
        assert model["status"] == "ready", model["error"]
        submitted = client.post(
            "/api/v1/jobs", headers=auth, json={"model": "seed:1", "papers": papers}
        )
        assert submitted.status_code == 202, submitted.get_data(as_text=True)
        job = wait_finished(settings.database_url, submitted.json["id"], 180, log)
    finally:
        stop_worker(worker)
    assert job.status == "done", log.read_text()[-3000:]
    assert model["architecture"]["pooling"] == {"title": "last-output", "abstract": "last-output"}
    assert (model["fields"], model["imported_by"], model["shared"]) == (
        ["title", "abstract"], "ada@example.org", False,
    )  # fmt: skip
    with sessions() as session:
        row = session.scalars(select(RegisteredModel).filter_by(name="seed")).one()
        assert row.path is None and set(row.files or {}) == {
            "manifest.json", "weights.safetensors", "vectors.npy", "vocab.txt",
        }  # fmt: skip
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
        stored = session.scalars(select(ModelBlob.sha256)).all()
        assert set(row.files.values()) <= set(stored)
    assert (cache / str(row.manifest_sha256) / "manifest.json").is_file()
    reference = Reference(net, kv)
    for item in client.get(submitted.json["url"], headers=auth).json["results"]:
        data = client.get(item["url"], headers=auth).json
        np.testing.assert_allclose(
            data["probabilities"], expected_grid(reference, data), atol=1e-5, rtol=0
        )
    bob = {"Authorization": f"Bearer {other_token}"}
    assert client.get(response.json["url"], headers=bob).status_code == 404
    listed = client.get("/api/v1/models", headers=bob).json
    assert [m["model"] for m in listed["models"]] == [SHIPPED_SPEC]
    refused = client.post("/api/v1/jobs", headers=bob, json={"model": "seed:1", "papers": papers})
    assert refused.status_code == 400
    assert "no model named 'seed:1'" in refused.json["error"]
