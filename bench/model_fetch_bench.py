"""How long does a worker without a model's files take to fetch them by hash?

    .venv/bin/python bench/model_fetch_bench.py [--repeat 5]

A fresh PostgreSQL database (``OCCLAB_TEST_POSTGRES``, as the tests make them) is prepared as
``occlab db upgrade`` does (migrated, the shipped default registered with its files stored),
then the default's files are fetched ``--repeat`` times into an empty cache as a worker on
another machine would (the registered directory hidden), and once more from the warm cache.
Prints seconds and MB/s; drops the database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import load_settings
from shared.db import get_engine, session_factory
from shared.registry.catalog import prepare_database, shipped_default
from shared.registry.files import local_dir
from tests.fixtures.services import create_database, drop_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = create_database("occlab_fetch_bench")
    try:
        settings = load_settings({"DATABASE_URL": url, "OCCLAB_INSTANCE": tempfile.mkdtemp()})
        start = time.perf_counter()
        prepare_database(settings)
        print(f"occlab db upgrade on an empty database (default stored): "
              f"{time.perf_counter() - start:.2f} s")  # fmt: skip
        with session_factory(url)() as session:
            row = shipped_default(session, settings)
            row.path = None  # as on a machine without this checkout (not committed)
            times, size = [], 0
            for _ in range(args.repeat):
                cache = Path(tempfile.mkdtemp())
                start = time.perf_counter()
                folder = local_dir(session, row, cache)
                times.append(time.perf_counter() - start)
                size = sum(p.stat().st_size for p in folder.iterdir())
            start = time.perf_counter()
            local_dir(session, row, cache)
            warm = time.perf_counter() - start
            session.rollback()
        median = statistics.median(times)
        print(f"fetch {size / 1e6:.1f} MB into an empty cache, hashes checked: median "
              f"{median:.3f} s ({size / 1e6 / median:.0f} MB/s), min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {args.repeat}")  # fmt: skip
        print(f"from the warm cache: {warm * 1000:.2f} ms")
    finally:
        get_engine(url).dispose()
        drop_database(url)


if __name__ == "__main__":
    main()
