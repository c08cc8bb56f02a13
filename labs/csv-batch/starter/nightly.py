"""Load the nightly order file into canonical JSON Lines.

Your task (see README.md for the full contract):

- ``process_file(path, out_dir, encoding_hint=None)``: read the nightly file
  one record at a time, write ``accepted.jsonl`` and ``rejects.jsonl`` into
  ``out_dir``, and return the summary dict. Refuse the whole file (and load
  nothing) when the header, the encoding or the trailer is wrong.

Use the standard library only. Run ``pytest`` for the visible tests and
``iclab check`` for the grader, which uses files you have not seen.
"""

# Standard-library modules you will probably want:
import codecs
import csv
import datetime
import json
import os
import re
from decimal import Decimal
from pathlib import Path

HEADER = ["order_id", "order_date", "customer_name", "amount", "note"]


def process_file(path: str, out_dir: str, encoding_hint: str | None = None) -> dict:
    """Load one nightly file into ``out_dir``.

    Writes ``out_dir/accepted.jsonl`` (canonical JSON Lines, only when the
    file is not refused) and ``out_dir/rejects.jsonl`` (``{"code": ...,
    "line": ...}`` per rejected record, always), creating ``out_dir`` if
    needed. Returns::

        {"rows": int, "accepted": int, "rejected": int,
         "refused": bool, "reason": str | None}

    ``encoding_hint`` is None (detect), "utf-8" or "latin-1".
    Never raises for a bad file or a bad record.
    """
    raise NotImplementedError("process_file")
