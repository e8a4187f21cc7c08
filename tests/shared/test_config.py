"""Settings come from the environment, one variable each, with the documented defaults."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from shared.config import Settings, load_settings, secret_key_problem


def test_every_setting_is_read_from_its_variable(tmp_path: Path) -> None:
    env = {
        "OCCLAB_INSTANCE": str(tmp_path),
        "SECRET_KEY": "s" * 40,
        "OCCLAB_HTTPS": "true",
        "OCCLAB_PROXY_HOPS": "2",
        "OCCLAB_RETRY_BACKOFF": "0.5",
        "OCCLAB_MAX_PAPERS_PER_JOB": "123",
        "OCCLAB_CACHE_TTL": "60",
    }
    s = load_settings(env)
    assert (s.https, s.proxy_hops, s.retry_backoff_s) == (True, 2, 0.5)
    assert (s.max_papers_per_job, s.cache_ttl_s, s.secret_key) == (123, 60, "s" * 40)


def test_defaults(tmp_path: Path) -> None:
    s = load_settings({"OCCLAB_INSTANCE": str(tmp_path)})
    assert (s.https, s.proxy_hops, s.retry_backoff_s) == (False, 0, 2.0)
    assert (s.max_papers_per_job, s.cache_ttl_s) == (1_000_000, 7 * 24 * 3600)
    assert s.secret_key == "" and secret_key_problem(s.secret_key)  # no built-in key
    assert load_settings({"OCCLAB_HTTPS": "0"}).https is False


def test_bad_numbers_name_their_variable() -> None:
    with pytest.raises(ValueError, match="OCCLAB_RETRY_BACKOFF='soon' must be a number"):
        load_settings({"OCCLAB_RETRY_BACKOFF": "soon"})
    with pytest.raises(ValueError, match="OCCLAB_PROXY_HOPS='one'"):
        load_settings({"OCCLAB_PROXY_HOPS": "one"})


def test_the_docstring_names_every_variable_load_settings_reads() -> None:
    source = Path(load_settings.__code__.co_filename).read_text()
    body = source[source.index("def load_settings(") :]
    read = set(re.findall(r'"((?:OCCLAB_|SECRET_|DATABASE_|REDIS_)[A-Z_]*)"', body))
    assert read and all(f"``{name}``" in (Settings.__doc__ or "") for name in read)


DEFAULTED = [f for f in fields(Settings) if f.default is not MISSING]


def _other_than(default: object) -> object:
    if isinstance(default, bool):
        return not default
    if isinstance(default, int | float):
        return default + (1 if isinstance(default, int) else 0.5)
    return f"{default}-other"


def test_unset_variables_give_the_dataclass_defaults() -> None:
    s = load_settings({})
    assert len(DEFAULTED) >= 12
    assert {f.name: getattr(s, f.name) for f in DEFAULTED} == {f.name: f.default for f in DEFAULTED}


def test_every_defaulted_setting_is_read_from_its_documented_variable() -> None:
    documented = dict(re.findall(r"``(\w+)``\s+\(``([A-Z0-9_]+)``", Settings.__doc__ or ""))
    for f in DEFAULTED:
        value = _other_than(f.default)
        s = load_settings({documented[f.name]: str(value)})
        assert getattr(s, f.name) == value, f"{f.name} is not read from {documented[f.name]}"
