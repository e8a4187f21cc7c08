"""docker-compose.yml, as ``docker-compose config`` resolves it: services, profiles, ordering."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.services import require

REPO = Path(__file__).resolve().parents[1]
APP_SERVICES = ("web", "worker", "worker-gpu")
YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def _compose(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SECRET_KEY": "compose-test"}
    argv = [binary, "-f", str(REPO / "docker-compose.yml"), *args]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _yaml(text: str, binary: str) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        # docker-compose 1.x is a Python program that needs PyYAML: borrow its interpreter.
        shebang = Path(binary).read_text(errors="replace").splitlines()[0]
        interpreter = shebang.removeprefix("#!").split()
        done = subprocess.run(
            [*interpreter, "-c", YAML_TO_JSON], input=text, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))
    return dict(yaml.safe_load(text))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        require("docker-compose is not installed (Debian: apt-get install docker-compose)")
    assert binary is not None  # require() has skipped or failed otherwise
    as_json = _compose(binary, "config", "--format", "json")  # Compose v2
    if as_json.returncode == 0 and as_json.stdout.lstrip().startswith("{"):
        return dict(json.loads(as_json.stdout))
    done = _compose(binary, "config")
    assert done.returncode == 0, done.stderr
    return _yaml(done.stdout, binary)


def test_every_service_is_defined(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {
        "web",
        "worker",
        "worker-gpu",
        "redis",
        "postgres",
        "migrate",
        "flower",
        "minio",
    }


def test_optional_services_sit_behind_profiles(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["minio"]["profiles"] == ["objects"]
    for name in ("web", "worker", "redis", "postgres", "migrate"):
        assert not services[name].get("profiles"), name


def test_app_services_wait_for_healthy_postgres_and_finished_migrations(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["occlab", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"


def test_postgres_has_a_pg_isready_healthcheck(config: dict[str, Any]) -> None:
    assert "pg_isready" in " ".join(config["services"]["postgres"]["healthcheck"]["test"])


def test_redis_keeps_every_queued_task(config: dict[str, Any]) -> None:
    command = " ".join(config["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_commands_and_the_gpu_reservation(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["web"]["command"][:2] == ["occlab", "web"]
    assert services["worker"]["command"][:2] == ["occlab", "worker"]
    gpu = services["worker-gpu"]
    assert gpu["command"] == ["occlab", "worker", "--gpu"]
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "whl/cu" in gpu["build"]["args"]["TORCH_INDEX"]
    assert services["worker"]["build"]["args"]["TORCH_INDEX"].endswith("/whl/cpu")


def test_every_app_service_reaches_postgres_and_redis(config: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        env = config["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://occlab:"), name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        assert env["SECRET_KEY"] == "compose-test", name
        # Stored files in PostgreSQL unless OCCLAB_OBJECT_STORE names a bucket in MinIO.
        assert env["OCCLAB_OBJECT_STORE"] == "" and env["OCCLAB_S3_ENDPOINT"] == "http://minio:9000"
