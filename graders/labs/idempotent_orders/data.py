"""Hidden data for idempotent-orders: the ERP's credentials and scenario, the order batches, the message batch.

The create batch is laid out against the scenario's request counter for a
client that handles every order in turn (first order: commit, then the
connection drops; second: held 60 s, so a same-key retry meets 409; third:
503; fourth: invalid, 422; fifth: 429). A client that behaves differently
meets the faults on other orders; the checks judge whatever happened.

The message batch is built so each consumer mistake shows in one check:

- dedupe group: in-order versions with redeliveries, and distinct messages
  whose payloads are identical (an order put on hold, released, put on hold
  again; two orders cancelled for the same reason). Each such message is
  superseded by a later version, so deduplicating on payload loses messages
  (the dedupe check) without changing any final state.
- ordering group: versions arrive out of order; only the highest counts.
- poison: a version that is a string, a payload that is not an object, one
  of them delivered twice.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from mock_services import Credentials, DropAfterCommit, Nth, RateLimited, Scenario, ServerError, Slow, on
from mock_services.services.erp import ErpService

CREATE = "POST /v1/orders"
SLOW_SECONDS = 60
CREATE_SCENARIO = Scenario("create", (
    on(CREATE, DropAfterCommit(), when=Nth(1)),
    on(CREATE, Slow(SLOW_SECONDS), when=Nth(3)),
    on(CREATE, ServerError(503), when=Nth(6)),
    on(CREATE, RateLimited(20), when=Nth(9)),
))
HAPPY = Scenario("happy")
SKUS = ("WID-100", "WID-220", "BOLT-M8", "GEAR-42", "CABLE-5M", "HUB-USB3", "LAMP-LED", "FAN-120")
WAREHOUSES = ("Rotterdam", "Leeds", "Lyon", "Gdansk", "Porto")


@dataclass(frozen=True)
class Hidden:
    """Everything the grader knows and the learner does not."""

    client_id: str
    client_secret: str
    settings: tuple
    create_batch: tuple  # order dicts, in the order they are sent
    invalid_ref: str
    rerun_batch: tuple
    messages: tuple  # the at-least-once batch
    redelivery: tuple  # part of it again, plus one new message
    dedupe_ids: tuple  # the dedupe group's distinct message ids, in arrival order
    poison_ids: tuple
    finals: tuple  # (entity_id, version, payload) after the batch
    new_final: tuple  # (entity_id, version, payload) after the redelivery
    new_id: str

    def config_for(self, url: str) -> dict:
        return {"base_url": url, "client_id": self.client_id, "client_secret": self.client_secret,
                **dict(self.settings)}


def grading_erp(data: Hidden):
    """The stock ERP with the hidden credentials (its TokenIssuer reads them from the class)."""

    class Erp(ErpService):
        credentials = Credentials(data.client_id, data.client_secret, ("orders:read", "orders:write"))

    return Erp


def _order(rng: random.Random, ref: str) -> dict:
    lines = [{"sku": sku, "quantity": rng.randint(1, 40), "unit_price": f"{rng.randint(150, 99_999) / 100:.2f}"}
             for sku in rng.sample(SKUS, rng.randint(1, 3))]
    return {"order_ref": ref, "customer_id": f"acc_{rng.randint(1, 99_999):05d}",
            "currency": rng.choice(["EUR", "GBP", "USD"]), "lines": lines}


def _batches(rng: random.Random):
    year = rng.choice([2025, 2026])
    refs = [f"PO-{year}-{n:05d}" for n in rng.sample(range(10_000, 99_999), 13)]
    create = [_order(rng, ref) for ref in refs[:8]]
    bad = create[3]
    bad["lines"] = [dict(bad["lines"][0], quantity=0)]  # the ERP allows 1 to 10000
    rerun = [_order(rng, ref) for ref in refs[8:]]
    return create, bad["order_ref"], rerun


def _messages(rng: random.Random):
    ids = iter(f"msg-{rng.randrange(16**12):012x}" for _ in range(40))
    ents = [f"ord_{n:05d}" for n in rng.sample(range(100, 99_999), 8)]
    d1, d2, d3, v1, v2, v3, x1, x2 = ents

    docks = iter(rng.sample([f"{w}-{n}" for w in WAREHOUSES for n in range(1, 9)], 30))

    def status(name: str, **extra) -> dict:
        return {"status": name, "dock": next(docks), **extra}

    # The designed look-alikes: payloads that say the same thing, sent as different messages.
    hold, cancelled = {"status": "on_hold", "reason": "credit check"}, {"status": "cancelled", "reason": "customer request"}
    m = {}

    def msg(key: str, entity: str, version, payload) -> dict:
        m[key] = {"message_id": next(ids), "entity_id": entity, "version": version, "payload": payload}
        return m[key]

    dedupe = [msg("d1v1", d1, 1, hold), msg("d2v1", d2, 1, cancelled), msg("d1v2", d1, 2, status("released")),
              msg("d3v1", d3, 1, dict(cancelled)), msg("d1v3", d1, 3, dict(hold)),
              msg("d1v4", d1, 4, status("shipped", carrier="DHL")), msg("d3v2", d3, 2, status("refunded")),
              msg("d2v2", d2, 2, status("archived"))]
    ordering = [msg("v1v2", v1, 2, status("picked")), msg("v1v1", v1, 1, status("created")),
                msg("v2v1", v2, 1, status("created")), msg("v2v3", v2, 3, status("delivered")),
                msg("v2v2", v2, 2, status("shipped", carrier="UPS")), msg("v3v3", v3, 3, status("invoiced")),
                msg("v3v1", v3, 1, status("created")), msg("v1v3", v1, 3, status("packed")),
                msg("v3v2", v3, 2, status("paid"))]
    poison = [msg("x1", x1, "2", status("allocated")), msg("x2", x2, 1, "status=created;warehouse=Leeds")]
    # Interleave the groups, then deliver some messages again later (at-least-once).
    batch = []
    for i in range(max(len(dedupe), len(ordering))):
        batch += [g[i] for g in (dedupe, ordering) if i < len(g)]
        if i == 2:
            batch.append(poison[0])
        if i == 5:
            batch.append(poison[1])
    for key, after in (("d2v1", "d1v3"), ("d1v2", "v3v2"), ("x1", "d3v2"), ("v2v3", "v1v3")):
        batch.insert(batch.index(m[after]) + 1, dict(m[key]))
    finals = tuple((e, m[k]["version"], m[k]["payload"]) for e, k in
                   ((d1, "d1v4"), (d2, "d2v2"), (d3, "d3v2"), (v1, "v1v3"), (v2, "v2v3"), (v3, "v3v3")))
    new = {"message_id": next(ids), "entity_id": v2, "version": 4, "payload": status("returned")}
    redelivery = [dict(x) for x in batch[::3]] + [new]
    return (tuple(batch), tuple(redelivery), tuple(x["message_id"] for x in dedupe),
            (m["x1"]["message_id"], m["x2"]["message_id"]), finals, (v2, 4, new["payload"]), new["message_id"])


def make_hidden(rng: random.Random) -> Hidden:
    create, invalid_ref, rerun = _batches(rng)
    messages, redelivery, dedupe_ids, poison_ids, finals, new_final, new_id = _messages(rng)
    settings = (("timeout", 15), ("max_attempts", 5), ("backoff_base", 1.0), ("backoff_cap", 8.0))
    return Hidden(f"orders-{rng.randrange(16**6):06x}", f"erp-secret-{rng.randrange(16**24):024x}", settings,
                  tuple(create), invalid_ref, tuple(rerun), messages, redelivery, dedupe_ids, poison_ids, finals,
                  new_final, new_id)
