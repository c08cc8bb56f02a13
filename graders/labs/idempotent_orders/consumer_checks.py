"""idempotent-orders part 2: the at-least-once consumer, called directly (it is pure).

One probe calls ``consume_messages`` three times: the batch on an empty
state, the same batch again on the state it returned (a replay), and a
redelivery of every third message plus one new message on the state after
that. Between calls the state goes through JSON, as a caller storing it
would; each call is watched for changes to the arguments it was given
(``watch_args``: the child sends back what it holds after the call, and the
grader compares that with what it sent). Each check reads one concern of the
first call (or the later two).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import NamedTuple

from ...checks import failed, passed
from ...evidence import mismatch_table, show
from ...results import Dimension
from ...sandbox import CallRecord

TARGET = "consumer:consume_messages"


class Consumed(NamedTuple):
    """The three calls: the batch, its replay, and a partial redelivery with one new message."""

    first: CallRecord
    replay: CallRecord | None
    redelivery: CallRecord | None
    stored: str | None = None  # why a returned state could not be stored as JSON, if it could not
    sent: tuple = ()  # the state each call was given, as sent


def _shape(record: CallRecord | None):
    """The call's result, or (None, why it cannot be judged)."""
    if record is None:
        return None, "not called, because the first call returned no state"
    if not record.ok:
        return None, record.problem()
    value = record.value
    ok = isinstance(value, dict) and isinstance(value.get("state"), dict) \
        and isinstance(value["state"].get("entities"), dict) and isinstance(value.get("applied"), list) \
        and isinstance(value.get("dead_letters"), list)
    if not ok:
        return None, ("expected {'state': {'entities': {...}, ...}, 'applied': [...], 'dead_letters': [...]}, got "
                      + show(value, 80))
    return value, None


def _stored(state):
    """The state as a caller would get it back from storage (JSON), or (None, why it cannot be stored)."""
    try:
        return json.loads(json.dumps(state, allow_nan=False)), None
    except (TypeError, ValueError, RecursionError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:120]}"


def probe(run) -> Consumed:
    """Call the consumer three times, each on the state the previous call returned (stored as JSON between)."""
    first = run.call(TARGET, [dict(m) for m in run.data.messages], {}, watch_args=True)
    value, _ = _shape(first)
    if value is None:
        return Consumed(first, None, None, sent=({},))
    state, stored = _stored(value["state"])
    given = state if state is not None else value["state"]
    replay = run.call(TARGET, [dict(m) for m in run.data.messages], given, watch_args=True)
    again, _ = _shape(replay)
    later, problem = _stored(again["state"]) if again else (None, None)
    state = later if later is not None else again["state"] if again else given
    redelivery = run.call(TARGET, [dict(m) for m in run.data.redelivery], state, watch_args=True)
    return Consumed(first, replay, redelivery, stored or problem, ({}, given, state))


def _hashable(value):
    """A learner's value as a dict key: itself when it can be one, else its compact rendering."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else show(value, 60)


def _describe(data, message_id: str) -> str:
    message = next(m for m in data.messages if m["message_id"] == message_id)
    twin = next((m for m in data.messages if m["payload"] == message["payload"] and m["message_id"] != message_id),
                None)
    note = f", same payload as {twin['entity_id']} v{twin['version']}" if twin else ""
    return f"{message['entity_id']} v{message['version']}{note}"


def check_dedupe(consumed: Consumed, data):
    value, why = _shape(consumed.first)
    if why:
        return failed(f"no result to judge: {why}")
    applied = [_hashable(i) for i in value["applied"]]
    twice = [i for i, n in Counter(applied).items() if n > 1]
    group = [i for i in applied if i in data.dedupe_ids]
    rows = [(i, [f"applied {Counter(applied)[i]} times"]) for i in twice]
    rows += [(i, [f"not applied ({_describe(data, i)})"]) for i in data.dedupe_ids if i not in group]
    if not rows and group != list(data.dedupe_ids):
        rows.append(("order", ["messages applied out of their arrival order"]))
    if rows:
        return failed(f"{len(rows)} problems: each distinct message ID must be applied once, even when another "
                      "message carried the same payload", mismatch_table(rows, len(data.dedupe_ids)))
    return passed(f"{len(data.dedupe_ids)} distinct messages applied once each; redeliveries skipped, "
                  "look-alike payloads kept")


def check_latest(consumed: Consumed, data):
    value, why = _shape(consumed.first)
    if why:
        return failed(f"no result to judge: {why}")
    entities = value["state"]["entities"]
    rows = [(i, ["applied, though a version as high or higher had arrived before it"])
            for i in data.stale_ids if i in value["applied"]]
    for entity, version, payload in data.finals:
        got = entities.get(entity)
        want = {"version": version, "payload": payload}
        if got != want:
            have = f"v{got.get('version')} {show(got.get('payload'), 50)}" if isinstance(got, dict) else show(got)
            rows.append((entity, [f"expected v{version} {show(payload, 50)}", f"got {have}"]))
    if rows:
        return failed(f"{len(rows)} problems: each entity must hold its highest version (the first to arrive when "
                      "two messages share it), and older or equal versions must not be applied",
                      mismatch_table(rows, len(data.finals) + len(data.stale_ids)))
    return passed(f"all {len(data.finals)} entities hold their highest version, whatever the arrival order; "
                  f"{len(data.stale_ids)} late or equal versions were not applied")


def check_poison(consumed: Consumed, data):
    value, why = _shape(consumed.first)
    if why:
        return failed(f"no result to judge: {why}")
    letters = [d for d in value["dead_letters"] if isinstance(d, dict)]
    ids = Counter(_hashable(d.get("message_id")) for d in letters)
    lines = [f"{p} is not in dead_letters" for p in data.poison_ids if not ids[p]]
    lines += [f"{p} is in dead_letters {ids[p]} times (it was delivered twice)" for p in data.poison_ids if ids[p] > 1]
    lines += [f"{i} is in dead_letters but is a valid message" for i in ids if i not in data.poison_ids]
    lines += [f"{d.get('message_id')}: no reason given" for d in letters
              if not (isinstance(d.get("reason"), str) and d["reason"].strip())]
    poisoned = {m.get("entity_id") for m in data.messages if m["message_id"] in data.poison_ids}
    lines += [f"{i} was applied" for i in value["applied"] if i in data.poison_ids]
    lines += [f"entity {show(e)} was changed by a poison message" for e in value["state"]["entities"]
              if e in poisoned and e]
    if lines:
        return failed("the poison messages were not set aside in dead_letters with a reason", "\n".join(lines[:6]))
    return passed(f"{len(data.poison_ids)} poison messages (entity_id missing, empty or a number; version a string, "
                  "null, true, 0 or 1.5; payload not an object) dead-lettered once each with a reason; the batch "
                  "went on")


def check_replay(consumed: Consumed, data):
    value, why = _shape(consumed.first)
    if why:
        return failed(f"no result to judge: {why}")
    lines = []
    replay, why = _shape(consumed.replay)
    if why:
        lines.append(f"replay: {why}")
    else:
        if replay["applied"] or replay["dead_letters"]:
            lines.append(f"replaying the batch applied {len(replay['applied'])} and dead-lettered "
                         f"{len(replay['dead_letters'])} messages again")
        given = consumed.sent[1] if len(consumed.sent) > 1 else value["state"]
        if replay["state"] != given:
            lines.append("replaying the batch changed the state")
    again, why = _shape(consumed.redelivery)
    entity, version, payload = data.new_final
    if why:
        lines.append(f"redelivery: {why}")
    else:
        if again["applied"] != [data.new_id] or again["dead_letters"]:
            lines.append(f"a redelivery of old messages plus one new one applied {show(again['applied'], 90)}; "
                         f"expected only the new message {data.new_id}")
        if again["state"]["entities"].get(entity) != {"version": version, "payload": payload}:
            lines.append(f"after the redelivery {entity} should hold the new message's v{version}")
    if lines:
        return failed("a replay or redelivery was not a no-op for the messages already handled", "\n".join(lines))
    return passed("replaying the whole batch changed nothing; a partial redelivery applied only its new message")


def _changed(record: CallRecord | None, sent) -> bool:
    return record is not None and record.args_after is not None and len(record.args_after) == 2 \
        and record.args_after[1] != sent


def check_state(consumed: Consumed, data):
    value, why = _shape(consumed.first)
    if why:
        return failed(f"no result to judge: {why}")
    lines = []
    if consumed.stored:
        lines.append(f"the returned state cannot be stored as JSON ({consumed.stored}): use dicts, lists, "
                     "strings and numbers only")
    calls = (("the first call", consumed.first), ("the replay", consumed.replay), ("the redelivery",
                                                                                    consumed.redelivery))
    for (label, record), sent in zip(calls, consumed.sent):
        if _changed(record, sent):
            lines.append(f"{label} modified the state it was given (before {show(sent, 50)}, after "
                         f"{show(record.args_after[1], 50)}): return a new state instead")
    if lines:
        return failed("the state contract was broken", "\n".join(lines))
    return passed("every state returned survives JSON, and no call modified the state it was given")


CHECKS = (
    ("dedupe-by-message-id", "Each message ID is processed once; look-alike payloads are not duplicates", 9,
     "idempotent-consumer", 7, check_dedupe),
    ("latest-version-wins", "The highest version per entity wins, whatever the arrival order", 9, "ordering", 8,
     check_latest),
    ("dead-letters-poison", "Poison messages go to dead_letters with a reason; the batch goes on", 10,
     "error-handling", 9, check_poison),
    ("replay-is-noop", "Replaying the batch is a no-op", 6, "idempotent-consumer", 10, check_replay),
    ("state-contract", "The state survives JSON and the state given is never modified", 4, "idempotent-consumer",
     10, check_state),
)


def register(grader) -> None:
    """Add the probe and the consumer checks to ``grader``."""
    grader.probe("consume")(probe)
    for check_id, title, points, skill, criterion, func in CHECKS:
        grader.check(check_id, title=title, points=points, skill=skill, dimension=Dimension.INTEGRATION,
                     criterion=criterion, probe="consume")(func)
