"""Hidden data for idempotent-orders: the ERP's credentials and faults, the order batches, the message batch.

The create batch gives each order a role, and the faults meet an order by
its ``external_ref`` and how many requests for it came before (``PerKey``),
whatever order a client handles the orders in:

- committed then dropped (a retry must replay), held 190 s (a same-key retry
  meets 409), 503/500/502/504 in a row (the fifth, last allowed attempt
  succeeds), 429 then 429 as an HTTP-date then 503 with a padded, lower-case
  Retry-After, a 503 whose HTTP-date is already past then a 429 of 0 s;
- an expired token (the refresh works, the order is created), an expired
  token whose refresh the token endpoint refuses once (401 invalid_client:
  the order fails with that), an expired token and then a gateway's HTML 503 until max_attempts is used
  up (the resend after the refresh is no attempt), a gateway's empty 502
  throughout, a connection closed before the ERP got the order on every
  attempt, a token refused twice (one refresh, then the order fails with
  401), a customer on hold refused with a 403 whose problem has a title and
  no detail;
- an invalid order with three problems (422 lists them all), and two orders
  with the same customer, currency and lines but different order_refs (two
  orders, two keys).

The messages come in one batch per consumer criterion, so a consumer that
gets one rule wrong, or crashes on one kind of message, loses that criterion
only:

- dedupe batch: in-order versions with redeliveries, distinct messages whose
  payloads are identical, and message ids that differ only in case. Each
  such message is superseded by a later version, so deduplicating on payload
  or on a normalised id loses messages (the dedupe check) without changing
  any final state.
- ordering batch: versions arrive out of order; only the highest counts; two
  different messages carry the same version (the first to arrive stays).
- poison batch: every way the contract names (entity_id missing, empty or
  not a string; version a string, null, true, 0 or 1.5; payload a string,
  null or a list), one delivered twice, one with several problems at once,
  valid messages between and after them.
- replay batch: the dedupe and ordering groups interleaved, with
  redeliveries; fed again on the state it produced, then partly redelivered
  with one new message.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass

from mock_services import (Credentials, DropAfterCommit, ExpireToken, Fault, From, Nth, Response, Scenario,
                           ServerError, Slow, on)
from mock_services.services.erp import ErpService

from .._http_support import Answer, DropBeforeAnswer, PerKey, Throttle

CREATE = "POST /v1/orders"
SLOW_SECONDS = 190  # 16 times the timeout: a client with one hangs up long before, however loaded the machine
SKUS = ("WID-100", "WID-220", "BOLT-M8", "GEAR-42", "CABLE-5M", "HUB-USB3", "LAMP-LED", "FAN-120")
WAREHOUSES = ("Rotterdam", "Leeds", "Lyon", "Gdansk", "Porto")
HAPPY = Scenario("happy")
GATEWAY_HTML = b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>"
HTML = (("Content-Type", "text/html"),)

# What each role's n-th request meets.
PLAN = {
    "dropped-after-commit": ((Nth(1), (DropAfterCommit(),)),),
    "slow": ((Nth(1), (Slow(SLOW_SECONDS),)),),
    "transient": ((Nth(1), (ServerError(503),)), (Nth(2), (ServerError(500),)), (Nth(3), (ServerError(502),)),
                  (Nth(4), (Answer(504, b"the warehouse system did not answer in time", slug="gateway-timeout"),))),
    "throttled": ((Nth(1), (Throttle(20),)), (Nth(2), (Throttle(10, form="http-date"),)),
                  (Nth(3), (Throttle(7, status=503, pad="  ", name="retry-after"),))),
    "skewed": ((Nth(1), (Throttle(-30, status=503, form="http-date"),)), (Nth(2), (Throttle(0),))),
    "token-expired": ((Nth(1), (ExpireToken(),)),),
    "refresh-refused": ((Nth(1), (ExpireToken(),)),),  # and RefusedRefresh at the token endpoint
    "expired-then-down": ((Nth(1), (ExpireToken(),)), (From(2), (Answer(503, GATEWAY_HTML, HTML),))),
    "gateway-empty": ((From(1), (Answer(502),)),),
    "unreachable": ((From(1), (DropBeforeAnswer(),)),),
    "token-refused": ((Nth(1, 2), (ExpireToken(),)),),
    "customer-blocked": ((From(1), (Answer(403, slug="customer-on-credit-hold", title_only=True),)),),
}
ROLES = ("dropped-after-commit", "slow", "transient", "invalid", "throttled", "skewed", "token-expired",
         "refresh-refused", "expired-then-down", "gateway-empty", "unreachable", "token-refused", "customer-blocked",
         "twin", "twin")
NEVER_CREATED = ("invalid", "refresh-refused", "expired-then-down", "gateway-empty", "unreachable", "token-refused",
                 "customer-blocked")
ROTATED = "the client secret was rotated; ask the ERP team for the new one"


def _ref_of(call) -> str | None:
    try:
        body = json.loads(call.request.body)
    except ValueError:
        return None
    ref = body.get("external_ref") if isinstance(body, dict) else None
    return ref if isinstance(ref, str) else None


@dataclass(frozen=True)
class RefusedRefresh(Fault):
    """Refuse, once, the token request made right after a create for ``ref`` (read from PerKey's state)."""

    ref: str

    def before(self, call, service):
        state = service.__dict__.get("_per_key")
        with service.state_lock:
            if not state or state.get("last") != self.ref or self.ref in state.setdefault("refused", set()):
                return None
            state["refused"].add(self.ref)
        body = json.dumps({"error": "invalid_client", "error_description": ROTATED}).encode()
        return Response(401, (("Content-Type", "application/json"), ("WWW-Authenticate", 'Basic realm="erp"')), body)


def create_scenario(roles) -> Scenario:
    """The create scene: each order's faults, by its order_ref; the refused refresh at the token endpoint."""
    plan = tuple((ref, when, faults) for ref, role in roles for when, faults in PLAN.get(role, ()))
    refused = next(ref for ref, role in roles if role == "refresh-refused")
    return Scenario("create", (on(CREATE, PerKey(plan, key=_ref_of)),
                               on("POST /oauth/token", RefusedRefresh(refused))))


@dataclass(frozen=True)
class Hidden:
    """Everything the grader knows and the learner does not."""

    client_id: str
    client_secret: str
    settings: tuple
    create_batch: tuple  # order dicts, in the order they are sent
    roles: tuple  # (order_ref, role) for the create batch
    rerun_batch: tuple
    dedupe_batch: tuple  # criterion 7
    ordering_batch: tuple  # criterion 8
    poison_batch: tuple  # criterion 9
    replay_batch: tuple  # criterion 10: the dedupe and ordering groups together
    redelivery: tuple  # part of the replay batch again, plus one new message
    dedupe_ids: tuple  # the dedupe group's distinct message ids, in arrival order
    poison_ids: tuple
    valid_between: tuple  # the poison batch's valid messages: applied, the batch goes on
    stale_ids: tuple  # valid messages that must not be applied (an equal or lower version arrived first)
    finals: tuple  # (entity_id, version, payload) after the ordering batch
    replay_finals: tuple  # (entity_id, version, payload) after the replay batch
    new_final: tuple  # (entity_id, version, payload) after the redelivery
    new_id: str

    @property
    def messages(self) -> tuple:
        """Every distinct message the consumer is given, for looking messages up."""
        return self.dedupe_batch + self.ordering_batch + self.poison_batch

    @property
    def invalid_ref(self) -> str:
        return self.ref("invalid")

    def ref(self, role: str) -> str:
        return next(ref for ref, r in self.roles if r == role)

    @property
    def create_scenario(self) -> Scenario:
        return create_scenario(self.roles)

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
    refs = [f"PO-{year}-{n:05d}" for n in rng.sample(range(10_000, 99_999), len(ROLES) + 5)]
    create = [_order(rng, ref) for ref in refs[:len(ROLES)]]
    roles = list(zip(refs, ROLES))
    for order, (_, role) in zip(create, roles):
        if role == "invalid":  # three problems: the ERP's 422 lists each with a pointer
            line = order["lines"][0]
            order["lines"] = [dict(line, quantity=0, unit_price=line["unit_price"][:-1], sku=line["sku"].lower())]
    twins = [order for order, (_, role) in zip(create, roles) if role == "twin"]
    twins[1].update({k: twins[0][k] for k in ("customer_id", "currency", "lines")})
    rng.shuffle(create)  # the faults follow the order_ref, so any position will do
    rerun = [_order(rng, ref) for ref in refs[len(ROLES):]]
    return create, tuple(roles), rerun


def _messages(rng: random.Random):
    ids = iter(f"msg-{rng.randrange(16**12):012x}" for _ in range(80))
    ents = [f"ord_{n:05d}" for n in rng.sample(range(100, 99_999), 19)]
    d1, d2, d3, d4, v1, v2, v3, v4 = ents[:8]
    poisoned = iter(ents[8:])

    docks = iter(rng.sample([f"{w}-{n}" for w in WAREHOUSES for n in range(1, 9)], 40))

    def status(name: str, **extra) -> dict:
        return {"status": name, "dock": next(docks), **extra}

    # The designed look-alikes: payloads that say the same thing, sent as different messages.
    hold = {"status": "on_hold", "reason": "credit check"}
    cancelled = {"status": "cancelled", "reason": "customer request"}
    m = {}

    def msg(key: str, entity, version, payload, message_id: str | None = None) -> dict:
        m[key] = {"message_id": message_id or next(ids), "entity_id": entity, "version": version, "payload": payload}
        return m[key]

    twin_id = next(ids)
    dedupe = [msg("d1v1", d1, 1, hold), msg("d2v1", d2, 1, cancelled), msg("d1v2", d1, 2, status("released")),
              msg("d3v1", d3, 1, dict(cancelled)), msg("d4v1", d4, 1, status("created"), twin_id),
              msg("d1v3", d1, 3, dict(hold)), msg("d4v2", d4, 2, status("picked"), twin_id.upper()),
              msg("d1v4", d1, 4, status("shipped", carrier="DHL")), msg("d3v2", d3, 2, status("refunded")),
              msg("d4v3", d4, 3, status("packed")), msg("d2v2", d2, 2, status("archived"))]
    ordering = [msg("v1v2", v1, 2, status("picked")), msg("v1v1", v1, 1, status("created")),
                msg("v2v1", v2, 1, status("created")), msg("v2v3", v2, 3, status("delivered")),
                msg("v2v2", v2, 2, status("shipped", carrier="UPS")), msg("v3v3", v3, 3, status("invoiced")),
                msg("v4v2", v4, 2, status("allocated", warehouse="Lyon")), msg("v3v1", v3, 1, status("created")),
                msg("v1v3", v1, 3, status("packed")), msg("v4v2b", v4, 2, status("allocated", warehouse="Porto")),
                msg("v3v2", v3, 2, status("paid")), msg("v4v1", v4, 1, status("created"))]
    poison = [msg("x1", next(poisoned), "2", status("allocated")),
              msg("x2", next(poisoned), 1, "status=created;warehouse=Leeds"),
              msg("x3", next(poisoned), None, status("created")), msg("x4", next(poisoned), True, status("created")),
              msg("x5", next(poisoned), 0, status("created")), msg("x6", next(poisoned), 1.5, status("created")),
              msg("x7", "", 1, status("created")), msg("x8", 40417, 1, status("created")),
              msg("x9", next(poisoned), 1, None), msg("x10", next(poisoned), 2, [status("created")]),
              msg("x11", None, "three", "on_hold")]
    del m["x11"]["entity_id"]  # entity_id missing, and two more problems in the same message
    valid = [msg(f"p{i}", next(poisoned), 1, status("created")) for i in range(3)]

    def redeliver(batch, pairs):
        for key, after in pairs:
            batch.insert(batch.index(m[after]) + 1, dict(m[key]))
        return batch

    dedupe_batch = redeliver(list(dedupe), (("d2v1", "d1v3"), ("d1v2", "d3v2"), ("d4v1", "d4v3")))
    ordering_batch = redeliver(list(ordering), (("v2v3", "v1v3"),))
    poison_batch = [poison[0], valid[0], *poison[1:6], valid[1], *poison[6:], dict(poison[0]), valid[2]]
    replay = []
    for i in range(max(len(dedupe), len(ordering))):
        replay += [g[i] for g in (dedupe, ordering) if i < len(g)]
    replay = redeliver(replay, (("d2v1", "d1v3"), ("d1v2", "v3v2"), ("v2v3", "v1v3"), ("d4v1", "d4v3")))
    finals = tuple((e, m[k]["version"], m[k]["payload"]) for e, k in
                   ((v1, "v1v3"), (v2, "v2v3"), (v3, "v3v3"), (v4, "v4v2")))
    replay_finals = finals + tuple((e, m[k]["version"], m[k]["payload"]) for e, k in
                                   ((d1, "d1v4"), (d2, "d2v2"), (d3, "d3v2"), (d4, "d4v3")))
    stale = tuple(m[k]["message_id"] for k in ("v1v1", "v2v2", "v3v1", "v3v2", "v4v2b", "v4v1"))
    new = {"message_id": next(ids), "entity_id": v2, "version": 4, "payload": status("returned")}
    redelivery = [dict(x) for x in replay[::3]] + [new]
    return {"dedupe_batch": tuple(dedupe_batch), "ordering_batch": tuple(ordering_batch),
            "poison_batch": tuple(poison_batch), "replay_batch": tuple(replay), "redelivery": tuple(redelivery),
            "dedupe_ids": tuple(x["message_id"] for x in dedupe), "poison_ids": tuple(x["message_id"] for x in poison),
            "valid_between": tuple(x["message_id"] for x in valid), "stale_ids": stale, "finals": finals,
            "replay_finals": replay_finals, "new_final": (v2, 4, new["payload"]), "new_id": new["message_id"]}


def make_hidden(rng: random.Random) -> Hidden:
    create, roles, rerun = _batches(rng)
    messages = _messages(rng)
    settings = (("timeout", 12), ("max_attempts", 5), ("backoff_base", 1.0), ("backoff_cap", 8.0))
    return Hidden(f"orders-{rng.randrange(16**6):06x}", f"erp-secret-{rng.randrange(16**24):024x}", settings,
                  tuple(create), roles, tuple(rerun), **messages)
