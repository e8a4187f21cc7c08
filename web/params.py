"""Whole numbers for every page and the API: read from query strings, forms and URLs (the
``id`` converter), and divided up into pages or minutes.

``str.isdigit`` is not enough: it accepts "²" (which ``int`` refuses) and digit strings too
too big for a database id (PostgreSQL answers those with an error, not "not found").
"""

from __future__ import annotations

from typing import Any, TypeVar

from werkzeug.routing import IntegerConverter, Map

# The largest id an INTEGER column holds (every id column is one): bigger numbers name no
# row, and PostgreSQL refuses to compare them with one ("integer out of range": a 500).
MAX_ID = 2**31 - 1

T = TypeVar("T")


def positive_int(value: str | None, default: T, maximum: int = MAX_ID) -> int | T:
    """``value`` as a whole number from 1 to ``maximum``; ``default`` if absent or not one."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return default
    number = int(text)
    return number if 1 <= number <= maximum else default


def ceil_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded up, in integers (floats lose big counts)."""
    return -(-numerator // denominator)


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: Werkzeug's ``<int:...>`` capped at :data:`MAX_ID`, so a bigger
    id in a URL answers 404, where the database would fail on it. Registered by web/app.py
    under its own name: routes say they take a row id."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
