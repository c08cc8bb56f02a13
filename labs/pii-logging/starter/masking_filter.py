"""Mask secrets and personal data in log records.

Your task (see README.md for the full contract):

- ``mask_text(text)``: replace every secret and personal datum in one
  string with its marker, and leave everything else exactly as it was.
- ``PiiFilter``: a ``logging.Filter`` that masks a record's final message
  (template and args together) and its extras, and never drops the record.
- ``JsonFormatter``: a ``logging.Formatter`` that writes one JSON object per
  record.

Use the standard library only. Run ``pytest`` for the visible tests and
``iclab check`` for the grader, which logs records you have not seen.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from decimal import Decimal

MASK = "***"
SENSITIVE_KEYS = {"authorization", "client_secret", "password", "api_key"}


def mask_text(text: str) -> str:
    """Return ``text`` with every secret and personal datum replaced by its marker.

    Markers: ``[EMAIL]``, ``[PHONE]``, ``[CARD ****1234]`` (last four kept),
    ``[NATIONAL-ID]``, and ``***`` for secrets (the key or scheme stays:
    ``client_secret=***``, ``"password": "***"``, ``Authorization: Basic ***``,
    ``Bearer ***``).
    """
    raise NotImplementedError("mask_text")


class PiiFilter(logging.Filter):
    """Masks a record's message, args and extras; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        raise NotImplementedError("PiiFilter.filter")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then every extra."""

    def format(self, record: logging.LogRecord) -> str:
        raise NotImplementedError("JsonFormatter.format")
