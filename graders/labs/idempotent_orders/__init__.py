"""Hidden checks for idempotent-orders: create orders exactly once over a lossy network, and consume a feed once.

Part 1 runs ``create_orders`` through the ``_iclab_http`` harness against the
grader's ERP (the stock ERP with hidden credentials), each probe in its own
scene on its own virtual clock:

- "create": one batch against a scenario that drops a committed create,
  holds one for 60 s (a same-key retry meets 409), answers 503 and 429, and
  gets one invalid order (422);
- "rerun": one batch against a healthy ERP, run twice, the second time in a
  fresh process, as a rerun after a crash would be.

Verdicts come from the ERP's journal (which Idempotency-Key each attempt of
each logical order carried, when, what came back) and from the ERP's orders.
Part 2 (consumer_checks.py) calls ``consume_messages`` directly: it is pure.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import NamedTuple

from mock_services.idempotency import parse_key

from ...checks import Grader, failed, passed
from ...evidence import show
from ...results import Dimension
from .._http_support import Played, Stage, come_back_at, ended, environment, kind
from . import consumer_checks
from .data import CREATE_SCENARIO, HAPPY, SLOW_SECONDS, Hidden, grading_erp, make_hidden

grader = Grader(seed=20261302, data=make_hidden)
TOLERANCE = 0.01
RETRIED = {"dropped": "a dropped connection", "timeout": "a timeout", "transient": "a 5xx", "throttled": "a 429"}


class Created(NamedTuple):
    """The "create" scene's evidence: the run and the ERP's orders after it."""

    played: Played
    orders: tuple  # the ERP's orders after the run


class Rerun(NamedTuple):
    """The "rerun" scene's evidence: both runs, and the ERP's orders after each."""

    first: Played
    second: Played
    after_first: tuple
    after_second: tuple


@grader.environment
def _environment(data: Hidden):
    return environment(Stage(max_requests=100, call_timeout=6.0), erp_class=grading_erp(data))


def _open(run, name: str, scenario):
    """Serve a fresh grading ERP with ``scenario`` on its own clock."""
    return run.env.stage.open(name, lambda clock: run.env.erp_class(scenario, seed=0, clock=clock))


@grader.probe("create")
def _probe_create(run):
    stage: Stage = run.env.stage
    scene = _open(run, "create", CREATE_SCENARIO)
    try:
        played = stage.play(run.call, scene, "orders:create_orders", run.data.config_for(scene.url),
                            [dict(o) for o in run.data.create_batch])
        return Created(played, scene.service.orders())
    finally:
        stage.finish(scene)


@grader.probe("rerun")
def _probe_rerun(run):
    stage: Stage = run.env.stage
    scene = _open(run, "rerun", HAPPY)
    config, batch = run.data.config_for(scene.url), [dict(o) for o in run.data.rerun_batch]
    try:
        first = stage.play(run.call, scene, "orders:create_orders", config, batch)
        after_first = scene.service.orders()
        with run.fresh() as sandbox:  # a rerun is a new process: nothing kept in memory survives
            second = stage.play(sandbox.call, scene, "orders:create_orders", config, batch)
        return Rerun(first, second, after_first, scene.service.orders())
    finally:
        stage.finish(scene)


# -- reading the ERP's journal ---------------------------------------------------------
def _ref(body: dict, batch) -> str | None:
    """Which logical order a create body or an ERP order is: its external_ref, else its content."""
    if not isinstance(body, dict):
        return None
    refs = {o["order_ref"] for o in batch}
    if body.get("external_ref") in refs:
        return body["external_ref"]
    for order in batch:
        if all(body.get(k) == order[k] for k in ("customer_id", "currency", "lines")):
            return order["order_ref"]
    return None


def _creates(played: Played, batch) -> dict[str, list]:
    """Every POST /v1/orders of this run, grouped by logical order, in arrival order."""
    groups: dict[str, list] = {}
    for entry in played.mine:
        if entry.method != "POST" or entry.path != "/v1/orders":
            continue
        try:
            body = json.loads(entry.body)
        except ValueError:
            body = None
        groups.setdefault(_ref(body, batch) or "<unrecognised body>", []).append(entry)
    return groups


def _key(entry) -> str | None:
    return parse_key(entry.header("Idempotency-Key"))


def _counts(orders, batch) -> Counter:
    return Counter(_ref(order, batch) for order in orders)


def _result(played: Played):
    if played.stopped:
        return None, f"the run was stopped: {played.stopped}"
    if not played.call.ok:
        return None, played.call.problem()
    value = played.value
    if not isinstance(value, dict) or not isinstance(value.get("created"), list) \
            or not isinstance(value.get("failed"), list):
        return None, f"expected {{'created': [...], 'failed': [...]}}, got {show(value, 80)}"
    return value, None


# -- part 1 checks ------------------------------------------------------------------------
@grader.check("one-key-per-order", title="One Idempotency-Key per logical order, on every attempt", points=12,
              skill="idempotency", dimension=Dimension.INTEGRATION, criterion=1, probe="create")
def check_keys(created: Created, data):
    groups = _creates(created.played, data.create_batch)
    attempts = sum(len(g) for g in groups.values())
    if not attempts:
        return failed("no order was sent to POST /v1/orders", created.played.call.problem())
    bare = [e for g in groups.values() for e in g if _key(e) is None]
    if bare:
        return failed(f"{len(bare)} of {attempts} create requests carried no usable Idempotency-Key",
                      f"the ERP answered {sorted({e.status for e in bare})}; every create needs a key")
    lines = [f"{ref}: {len(g)} attempts with {len({_key(e) for e in g})} different keys"
             for ref, g in groups.items() if len({_key(e) for e in g}) > 1]
    owners = Counter(_key(g[0]) for g in groups.values())
    lines += [f"{n} different orders shared one key" for n in owners.values() if n > 1]
    if lines:
        return failed("the Idempotency-Key changed between retries of an order, or orders shared one",
                      "\n".join(lines[:5]))
    return passed(f"{len(groups)} orders, each sent with its own key on every attempt")


@grader.check("rerun-no-duplicates", title="Rerunning the same batch creates nothing new", points=10,
              skill="idempotency", dimension=Dimension.INTEGRATION, criterion=2, probe="rerun")
def check_rerun(rerun: Rerun, data):
    batch = data.rerun_batch
    first, second = _counts(rerun.after_first, batch), _counts(rerun.after_second, batch)
    refs = [o["order_ref"] for o in batch]
    if any(first[r] != 1 for r in refs):
        why = _result(rerun.first)[1]
        return failed("the first run did not leave exactly one order per logical order, so a rerun proves nothing",
                      f"orders after the first run: {show({r: first[r] for r in refs}, 150)}"
                      + (f"\n{why}" if why else ""))
    extra = {r: second[r] - 1 for r in refs if second[r] != 1}
    if extra:
        first_keys, second_keys = (
            {_key(e) for e in played.mine if e.path == "/v1/orders"} - {None} for played in (rerun.first, rerun.second))
        return failed(f"the rerun created {sum(extra.values())} duplicate orders",
                      f"duplicates per order: {show(extra, 120)}\n{len(first_keys & second_keys)} of the rerun's "
                      f"{len(second_keys)} keys were sent by the first run too: derive the key from the order")
    return passed(f"after two runs of the same {len(refs)} orders the ERP holds exactly one of each")


@grader.check("retries-unknown-outcome", title="Dropped connections, timeouts, 5xx and 429 are retried",
              points=10, skill="retries", dimension=Dimension.INTEGRATION, criterion=3, probe="create")
def check_retried(created: Created, data):
    most = dict(data.settings)["max_attempts"]
    met, bad = set(), []
    for ref, attempts in _creates(created.played, data.create_batch).items():
        for i, entry in enumerate(attempts):
            how = kind(entry)
            if how not in RETRIED:
                continue
            met.add(RETRIED[how])
            after = attempts[i + 1] if i + 1 < len(attempts) else None
            if after is None and len(attempts) < most:
                bad.append(f"{ref}: {RETRIED[how]} on attempt {i + 1}, then the order was not sent again")
            elif after is not None and how == "throttled" and after.at < come_back_at(entry) - TOLERANCE:
                bad.append(f"{ref}: retried {after.at - ended(entry):.1f} s after a 429 asking for "
                           f"{entry.response.header('Retry-After')} s")
    if not met:
        return failed("no create met a dropped connection, a timeout, a 5xx or a 429",
                      created.played.call.problem() or "")
    if bad:
        return failed(f"{len(bad)} creates whose outcome was unknown or transient were not retried properly",
                      "\n".join(bad[:4]))
    return passed(f"every create that met {', '.join(sorted(met))} was sent again")


@grader.check("one-order-each", title="The ERP ends with exactly one order per logical order, named in the result",
              points=12, skill="idempotency", dimension=Dimension.INTEGRATION, criterion=4, probe="create")
def check_once(created: Created, data):
    batch = data.create_batch
    counts = _counts(created.orders, batch)
    valid = [o["order_ref"] for o in batch if o["order_ref"] != data.invalid_ref]
    lines = [f"{r}: {counts[r]} orders in the ERP" for r in valid if counts[r] != 1]
    if counts[data.invalid_ref]:
        lines.append(f"{data.invalid_ref} (invalid) exists in the ERP")
    if counts[None]:
        lines.append(f"{counts[None]} orders in the ERP match no order of the batch")
    value, why = _result(created.played)
    if why:
        lines.append(f"no result to compare: {why}")
    else:
        ids = {_ref(o, batch): o["id"] for o in created.orders}
        named = {c.get("order_ref"): c.get("order_id") for c in value["created"] if isinstance(c, dict)}
        lines += [f"{r}: result says {show(named.get(r))}, the ERP's order is {ids.get(r)}"
                  for r in valid if counts[r] == 1 and named.get(r) != ids.get(r)]
    if lines:
        why = f"the run was stopped ({created.played.stopped}); " if created.played.stopped else ""
        return failed(f"{why}{len(lines)} problems: the ERP must hold each order once and the result must name it",
                      "\n".join(lines[:6]))
    return passed(f"the ERP holds each of the {len(valid)} valid orders once, and the result names its id")


@grader.check("waits-out-409", title="A 409 (original still in progress) is waited out and retried", points=8,
              skill="idempotency", dimension=Dimension.INTEGRATION, criterion=5, probe="create")
def check_conflict(created: Created, data):
    conflicts = [(ref, attempts, i) for ref, attempts in _creates(created.played, data.create_batch).items()
                 for i, e in enumerate(attempts) if e.status == 409]
    if not conflicts:
        if not _creates(created.played, data.create_batch):
            return failed("no order was sent to POST /v1/orders", created.played.call.problem())
        return passed("no 409 came back: no retry overlapped an unfinished create, so nothing to wait out")
    bad = []
    for ref, attempts, i in conflicts:
        entry = attempts[i]
        after = attempts[i + 1] if i + 1 < len(attempts) else None
        if after is None:
            bad.append(f"{ref}: 409 with Retry-After {entry.response.header('Retry-After')}, then given up")
        elif after.at < come_back_at(entry) - TOLERANCE:
            bad.append(f"{ref}: retried {after.at - ended(entry):.1f} s after a 409 asking for "
                       f"{entry.response.header('Retry-After')} s")
        elif _key(after) != _key(entry):
            bad.append(f"{ref}: retried after the 409 with another key")
        elif kind(attempts[-1]) != "ok":
            bad.append(f"{ref}: never got the order after the 409 (last answer {attempts[-1].status})")
    if bad:
        shown = [line + (f" ({n} times)" if n > 1 else "") for line, n in Counter(bad).items()]
        return failed("a 409 means the first attempt is still being processed: wait Retry-After, resend the same "
                      "request", "\n".join(shown[:4]))
    return passed(f"the {SLOW_SECONDS} s create's 409 was waited out and the same request got the order")


@grader.check("reports-422", title="A 422 is reported with the ERP's reason and never retried", points=8,
              skill="error-handling", dimension=Dimension.API_DATA, criterion=6, probe="create")
def check_invalid(created: Created, data):
    ref = data.invalid_ref
    attempts = _creates(created.played, data.create_batch).get(ref, [])
    refused = next((i for i, e in enumerate(attempts) if kind(e) == "refused"), None)
    if refused is None:
        return failed(f"order {ref} (quantity 0) never got its answer from the ERP: send it and report what the "
                      "ERP says", _result(created.played)[1] or f"{len(attempts)} attempts")
    if len(attempts) > refused + 1:
        return failed(f"order {ref}, refused with {attempts[refused].status}, was sent {len(attempts) - refused - 1} "
                      "more times", "a 4xx answer will not change by asking again")
    value, why = _result(created.played)
    if why:
        return failed(f"no result to judge: {why}")
    status = attempts[refused].status
    try:
        problem = json.loads(attempts[refused].response.body)
    except ValueError:
        problem = {}
    problem = problem if isinstance(problem, dict) else {}
    clues = [str(problem.get("detail", ""))] + [str(e.get("pointer")) for e in problem.get("errors", [])
                                                 if isinstance(e, dict)]
    entry = next((f for f in value["failed"] if isinstance(f, dict) and f.get("order_ref") == ref), None)
    lines = []
    if entry is None:
        lines.append(f"{ref} is not in 'failed'")
    else:
        if entry.get("status") != status:
            lines.append(f"status: expected {status}, got {show(entry.get('status'))}")
        if not any(c and c in str(entry.get("detail", "")) for c in clues):
            lines.append(f"detail: expected the ERP's reason ({show(clues, 80)}), got {show(entry.get('detail'), 80)}")
    if any(isinstance(c, dict) and c.get("order_ref") == ref for c in value["created"]):
        lines.append(f"{ref} is listed in 'created'")
    if lines:
        return failed(f"order {ref} was not reported as failed with the ERP's answer", "\n".join(lines))
    return passed(f"order {ref} was sent once, refused with {status}, and reported with the ERP's reason")


consumer_checks.register(grader)
