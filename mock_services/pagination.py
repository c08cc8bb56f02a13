"""Cursor pagination in the Stripe style: ``limit``, ``starting_after``, ``has_more``.

A page is ``{"object": "list", "url": ..., "data": [...], "has_more": bool}``.
The cursor is the id of the last row the client saw, so rows inserted
between page fetches never shift a page the way an offset would. Ids are
fixed-width and rows sorted by id, so a well-formed cursor that names no
row (say, a deleted one) still has a place: the rows after it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from .messages import Request, Response, json_response
from .problems import problem

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "list_object", "paginate"]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def list_object(url: str, data: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """Return a Stripe-like list object."""
    return {"object": "list", "url": url, "data": list(data), "has_more": has_more}


def paginate(rows: Sequence[dict[str, Any]], request: Request, url: str, id_pattern: re.Pattern[str]) -> Response:
    """Answer a list request over ``rows`` (sorted by id) with one page."""
    raw_limit = request.param("limit")
    limit = DEFAULT_LIMIT if raw_limit is None else _as_int(raw_limit)
    if not 1 <= limit <= MAX_LIMIT:
        return _invalid(request, "limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    start = 0
    cursor = request.param("starting_after")
    if cursor is not None:
        if not id_pattern.fullmatch(cursor):
            return _invalid(request, "starting_after", f"starting_after must be an object id like {id_pattern.pattern}")
        start = bisect_right([row["id"] for row in rows], cursor)
    page = rows[start : start + limit]
    return json_response(200, list_object(url, page, has_more=start + limit < len(rows)))


def _as_int(raw: str) -> int:
    return int(raw) if re.fullmatch(r"[0-9]{1,4}", raw) else 0


def _invalid(request: Request, name: str, reason: str) -> Response:
    return problem(400, "invalid-parameter", reason, request, invalid_params=[{"name": name, "reason": reason}])
