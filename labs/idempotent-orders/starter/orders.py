"""Create orders in the ERP exactly once (see README.md for the contract).

Rules that matter for grading:

- every create carries an ``Idempotency-Key`` derived from the order itself,
  the same on every retry of that order and on every rerun of the batch;
- use ``requests`` and pass ``timeout=config["timeout"]`` on every request;
- wait only with ``time.sleep(seconds)`` and read "now" with ``time.time()``
  (through the module: ``import time``). In grading, time is virtual.
"""
from __future__ import annotations

import logging

log = logging.getLogger("erp_orders")


def create_orders(config: dict, orders: list[dict]) -> dict:
    """Create each order in the ERP once.

    Returns {"created": [{"order_ref", "order_id"}, ...], "failed": [{"order_ref", "status", "detail"}, ...]}.
    """
    raise NotImplementedError("create_orders: POST /v1/orders with a stable Idempotency-Key per order")
