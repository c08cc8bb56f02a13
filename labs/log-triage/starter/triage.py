"""Read a three-system log bundle: parse each line, group by correlation ID, build timelines.

Your task (README.md has the full contract):

- ``parse_line(line, source)``: one line of runtime.log, gateway.log or
  erp.log as a record with a UTC timestamp and secrets masked, or ``None``
  when the line is not a log record.
- ``group_by_correlation(records)``: the records that have a correlation ID,
  grouped by it, each group in time order.
- ``timeline(bundle_dir, correlation_id)``: everything the bundle's three
  files say about one correlation ID, in time order.

Use the standard library only. ``pytest`` runs the visible tests; ``iclab
check`` grades with log bundles you have not seen (other IDs, other clock
offsets, other quirks).
"""
from __future__ import annotations

# Standard-library modules you will probably want:
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path


def parse_line(line: str, source: str) -> dict | None:
    """One log line as a record, or None when it is not a record of ``source``'s format.

    ``source`` is "runtime", "gateway" or "erp" (anything else: ValueError).
    The record has exactly these keys::

        {"ts": "2024-11-05T07:15:02.703Z",   # UTC, always with milliseconds
         "source": "erp",
         "correlation_id": "c-4b9d07a3",      # or None
         "level": "ERROR",                    # DEBUG, INFO, WARN or ERROR
         "status": 500,                       # int or None
         "message": "..."}                    # secrets replaced by ***

    Never raises for a line it cannot read: blank lines, stack traces and
    truncated JSON give None.
    """
    raise NotImplementedError("parse_line")


def group_by_correlation(records: list[dict]) -> dict:
    """``{correlation_id: [record, ...]}`` for the records that have one.

    Each list is sorted by ts; records with the same ts keep their input
    order. Records without a correlation ID are left out. ``records`` is not
    changed.
    """
    raise NotImplementedError("group_by_correlation")


def timeline(bundle_dir: str, correlation_id: str) -> list[dict]:
    """Every record of ``correlation_id`` in the bundle, in time order.

    Reads runtime.log, gateway.log and erp.log in ``bundle_dir`` (a missing
    file counts as empty). Records with the same ts keep file order:
    runtime.log, then gateway.log, then erp.log, each top to bottom. An
    unknown correlation ID gives [].
    """
    raise NotImplementedError("timeline")
