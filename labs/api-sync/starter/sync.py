"""Sync CRM accounts into canonical records (see README.md for the contract).

Rules that matter for grading:

- use ``requests`` and pass ``timeout=config["timeout"]`` on every request;
- wait only with ``time.sleep(seconds)`` and read "now" with ``time.time()``
  (import the module: ``import time``). In grading, time is virtual: a
  30-second Retry-After costs nothing, and the grader sees every wait;
- log with the ``logging`` module, and never log the client secret, the
  Authorization header or a token.
"""
from __future__ import annotations

import logging

log = logging.getLogger("crm_sync")


def sync_accounts(config: dict) -> dict:
    """Fetch every CRM account, page by page, as canonical records.

    Returns {"records": [record, ...], "failures": [failure, ...]}.
    """
    raise NotImplementedError("sync_accounts: fetch every account with cursor pagination")


def fetch_accounts(config: dict, account_ids: list[str]) -> dict:
    """Fetch the named accounts one by one.

    Returns {"records": [record, ...], "failures": [failure, ...]}.
    """
    raise NotImplementedError("fetch_accounts: GET /v1/accounts/{id} for each id")
