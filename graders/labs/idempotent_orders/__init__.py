"""Hidden checks for idempotent-orders: create orders exactly once over a lossy network, and consume a feed once.

Part 1 runs ``create_orders`` through the ``_iclab_http`` harness against the
grader's ERP (the stock ERP with hidden credentials), each probe in its own
scene on its own virtual clock:

- "create": one batch where every fault the ticket names meets some order
  (data.py: each order's faults follow its order_ref);
- "rerun": one batch against a healthy ERP, run twice, the second time in a
  new interpreter, as a rerun after a crash would be: nothing the first
  process held (its hash seed included) carries over.

Verdicts come from the ERP's journal (which Idempotency-Key each attempt of
each logical order carried, when, what came back) and from the ERP's orders.
retries.py judges criteria 3 and 6 (retrying, waiting, reporting failures);
part 2 (consumer_checks.py) calls ``consume_messages`` directly: it is pure.
"""
from __future__ import annotations

from collections import Counter

from ...checks import Grader, failed, passed
from ...evidence import show
from ...results import Dimension
from .._http_support import Stage, come_back_at, ended, environment, kind
from . import consumer_checks, retries
from .coverage import COVERAGE
from .creates import TOLERANCE, Created, Rerun, counts, creates, key, ref_of, result
from .data import HAPPY, NEVER_CREATED, SLOW_SECONDS, Hidden, grading_erp, make_hidden

grader = Grader(seed=20261302, data=make_hidden, coverage=COVERAGE)
GAVE_UP = ("timeout", "dropped", "transient", "throttled", "malformed", "conflict")


@grader.environment
def _environment(data: Hidden):
    return environment(Stage(max_requests=100, call_timeout=6.0), erp_class=grading_erp(data))


def _open(run, name: str, scenario):
    """Serve a fresh grading ERP with ``scenario`` on its own clock."""
    return run.env.stage.open(name, lambda clock: run.env.erp_class(scenario, seed=0, clock=clock))


@grader.probe("create")
def _probe_create(run):
    stage: Stage = run.env.stage
    scene = _open(run, "create", run.data.create_scenario)
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
        # A rerun is a new process: a new interpreter, not a fork of the warm server, so nothing the first
        # run's process held carries over (its hash seed included: a key from hash() changes).
        with run.fresh(new_interpreter=True) as sandbox:
            second = stage.play(sandbox.call, scene, "orders:create_orders", config, batch)
        return Rerun(first, second, after_first, scene.service.orders())
    finally:
        stage.finish(scene)


# -- 1, 2, 4, 5 ------------------------------------------------------------------------------
@grader.check("one-key-per-order", title="One Idempotency-Key per logical order, on every attempt", points=12,
              skill="idempotency", dimension=Dimension.INTEGRATION, criterion=1, probe="create")
def check_keys(created: Created, data):
    groups = creates(created.played, data.create_batch)
    attempts = sum(len(g) for g in groups.values())
    if not attempts:
        return failed("no order was sent to POST /v1/orders", created.played.call.problem())
    bare = [e for g in groups.values() for e in g if key(e) is None]
    if bare:
        return failed(f"{len(bare)} of {attempts} create requests carried no usable Idempotency-Key",
                      f"the ERP answered {sorted({e.status for e in bare})}; every create needs a key")
    lines = [f"{ref}: {len(g)} attempts with {len({key(e) for e in g})} different keys"
             for ref, g in groups.items() if len({key(e) for e in g}) > 1]
    owners = Counter(key(g[0]) for g in groups.values())
    lines += [f"{n} different orders shared one key (two orders can have the same content)"
              for n in owners.values() if n > 1]
    if lines:
        return failed("the Idempotency-Key changed between retries of an order, or orders shared one",
                      "\n".join(lines[:5]))
    return passed(f"{len(groups)} orders, each sent with its own key on every attempt")


@grader.check("rerun-no-duplicates", title="Rerunning the same batch in a new process creates nothing new",
              points=10, skill="idempotency", dimension=Dimension.INTEGRATION, criterion=2, probe="rerun")
def check_rerun(rerun: Rerun, data):
    batch = data.rerun_batch
    first, second = counts(rerun.after_first, batch), counts(rerun.after_second, batch)
    refs = [o["order_ref"] for o in batch]
    if any(first[r] != 1 for r in refs):
        why = result(rerun.first)[1]
        return failed("the first run did not leave exactly one order per logical order, so a rerun proves nothing",
                      f"orders after the first run: {show({r: first[r] for r in refs}, 150)}"
                      + (f"\n{why}" if why else ""))
    extra = {r: second[r] - 1 for r in refs if second[r] != 1}
    if extra:
        first_keys, second_keys = (
            {key(e) for e in played.mine if e.path == "/v1/orders"} - {None} for played in (rerun.first, rerun.second))
        return failed(f"the rerun (a new process) created {sum(extra.values())} duplicate orders",
                      f"duplicates per order: {show(extra, 120)}\n{len(first_keys & second_keys)} of the rerun's "
                      f"{len(second_keys)} keys were sent by the first run too: derive the key from the order_ref "
                      "with a stable hash (hashlib), not from anything a process makes up (uuid, time, hash())")
    return passed(f"after two runs of the same {len(refs)} orders, the second in a new process, the ERP holds "
                  "exactly one of each")


retries.register_retries(grader)  # criterion 3


@grader.check("one-order-each", title="The ERP ends with exactly one order per logical order, named in the result",
              points=10, skill="idempotency", dimension=Dimension.INTEGRATION, criterion=4, probe="create")
def check_once(created: Created, data):
    batch = data.create_batch
    tally = counts(created.orders, batch)
    lost = {ref for ref, role in data.roles if role in NEVER_CREATED}
    valid = [o["order_ref"] for o in batch if o["order_ref"] not in lost]
    groups = creates(created.played, batch)
    # An order the client stopped retrying while the ERP could still take it is charged where the retry
    # rules are judged (criteria 3 and 5), not again here.
    abandoned = {r for r in valid if groups.get(r) and kind(groups[r][-1]) in GAVE_UP}
    lines = [f"{r}: {tally[r]} orders in the ERP" for r in valid if tally[r] > 1
             or (tally[r] == 0 and r not in abandoned)]
    lines += [f"{r}: {tally[r]} orders in the ERP, and the ERP never accepted it" for r in lost if tally[r] > 1]
    if tally[None]:
        lines.append(f"{tally[None]} orders in the ERP match no order of the batch")
    value, why = result(created.played)
    if why:
        lines.append(f"no result to compare: {why}")
    else:
        ids = {ref_of(o, batch): o["id"] for o in created.orders}
        named = {c.get("order_ref"): c.get("order_id") for c in value["created"] if isinstance(c, dict)
                 and isinstance(c.get("order_ref"), str)}
        lines += [f"{r}: result says {show(named.get(r))}, the ERP's order is {ids.get(r)}"
                  for r in valid if tally[r] == 1 and r not in abandoned and named.get(r) != ids.get(r)]
    if lines:
        why = f"the run was stopped ({created.played.stopped}); " if created.played.stopped else ""
        return failed(f"{why}{len(lines)} problems: the ERP must hold each order once and the result must name it",
                      "\n".join(lines[:6]))
    return passed(f"the ERP holds each of the {len(valid)} orders it could accept once (two with the same content "
                  "among them), and the result names its id")


@grader.check("waits-out-409", title="A 409 (original still in progress) is waited out and retried", points=8,
              skill="idempotency", dimension=Dimension.INTEGRATION, criterion=5, probe="create")
def check_conflict(created: Created, data):
    groups = creates(created.played, data.create_batch)
    conflicts = [(ref, attempts, i) for ref, attempts in groups.items()
                 for i, e in enumerate(attempts) if e.status == 409]
    if not conflicts:
        slow = data.ref("slow")
        if slow not in groups:
            return failed(f"the run ended before order {slow} (the ERP holds it {SLOW_SECONDS} s) was sent, so no "
                          "409 could be judged", created.played.stopped or created.played.call.problem())
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
        elif key(after) != key(entry):
            bad.append(f"{ref}: retried after the 409 with another key")
        elif kind(attempts[-1]) != "ok":
            bad.append(f"{ref}: never got the order after the 409 (last answer {attempts[-1].status})")
    if bad:
        shown = [line + (f" ({n} times)" if n > 1 else "") for line, n in Counter(bad).items()]
        return failed("a 409 means the first attempt is still being processed: wait Retry-After, resend the same "
                      "request", "\n".join(shown[:4]))
    return passed(f"the {SLOW_SECONDS} s create's 409 was waited out and the same request got the order")


retries.register_failures(grader)  # criterion 6
consumer_checks.register(grader)  # criteria 7 to 10
