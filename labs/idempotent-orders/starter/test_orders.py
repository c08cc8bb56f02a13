"""Visible tests for orders.py: each runs your code against the stubbed ERP and reads the ERP's journal.

``service.orders()`` is every order the ERP holds; ``service.journal.entries()``
is every request it received, with headers, virtual arrival time (``.at``) and
the response. ``iclab check`` judges the same evidence with other orders,
other credentials and a nastier scenario.
"""
from __future__ import annotations

import json
from collections import Counter

from mock_services import Nth, RateLimited, Scenario, ServerError, on

from orders import create_orders

CREATE = "POST /v1/orders"


def creates(service) -> list:
    return [e for e in service.journal.entries() if e.method == "POST" and e.path == "/v1/orders"]


def per_order(service) -> Counter:
    return Counter(order["external_ref"] for order in service.orders())


def test_creates_each_order_once_and_names_its_id(erp, config, orders):
    service = erp("happy")
    result = create_orders(config, orders)
    assert result["failed"] == []
    ids = {o["external_ref"]: o["id"] for o in service.orders()}
    assert result["created"] == [{"order_ref": o["order_ref"], "order_id": ids[o["order_ref"]]} for o in orders]
    assert per_order(service) == Counter(o["order_ref"] for o in orders)


def test_a_lost_answer_is_retried_with_the_same_key(erp, config, orders):
    service = erp("drop-after-commit")  # the 1st and 4th creates are committed, then the connection drops
    result = create_orders(config, orders)
    assert result["failed"] == []
    assert all(n == 1 for n in per_order(service).values()), "a retry created a duplicate"
    keys: dict[str, set] = {}
    for entry in creates(service):
        keys.setdefault(json.loads(entry.body)["external_ref"], set()).add(entry.header("Idempotency-Key"))
    assert all(len(k) == 1 and None not in k for k in keys.values()), "one key per order, on every attempt"


def test_a_rerun_of_the_batch_creates_nothing_new(erp, config, orders):
    service = erp("happy")
    create_orders(config, orders)
    again = create_orders(config, orders)
    assert len(service.orders()) == len(orders)
    assert [c["order_ref"] for c in again["created"]] == [o["order_ref"] for o in orders]


def test_a_409_is_waited_out_and_retried(erp, config, orders):
    service = erp("conflict")  # the first create takes 30 s: longer than the 10 s timeout
    result = create_orders(config, orders)
    assert result["failed"] == []
    attempts = [e for e in creates(service) if orders[0]["order_ref"].encode() in e.body]
    conflict = next(i for i, e in enumerate(attempts) if e.status == 409)
    asked = int(attempts[conflict].response.header("Retry-After"))
    assert attempts[conflict + 1].at >= attempts[conflict].at + asked
    assert attempts[conflict + 1].header("Idempotency-Key") == attempts[0].header("Idempotency-Key")
    assert per_order(service)[orders[0]["order_ref"]] == 1


def test_an_invalid_order_is_reported_and_not_retried(erp, config, orders):
    service = erp("happy")
    orders[1]["lines"][0]["unit_price"] = "19.9"  # the ERP wants two decimal places
    result = create_orders(config, orders)
    sent = [e for e in creates(service) if orders[1]["order_ref"].encode() in e.body]
    assert [e.status for e in sent] == [422]
    [failure] = result["failed"]
    assert failure["order_ref"] == orders[1]["order_ref"] and failure["status"] == 422
    assert "unit_price" in failure["detail"], "say what the ERP found wrong"
    assert len(result["created"]) == len(orders) - 1


def test_5xx_and_429_are_retried_until_each_order_exists_once(erp, config, orders):
    service = erp(Scenario("bumpy", (
        on(CREATE, ServerError(503, retry_after=2), when=Nth(2)),
        on(CREATE, ServerError(500), when=Nth(4)),
        on(CREATE, RateLimited(15), when=Nth(6, 7)),
    )))
    result = create_orders(config, orders * 2)  # the same orders twice: the second time must replay
    assert result["failed"] == []
    assert per_order(service) == Counter(o["order_ref"] for o in orders)
    assert any(e.status >= 500 or e.status == 429 for e in creates(service)), "the flaky ERP should have failed"
