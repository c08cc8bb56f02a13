"""idempotent-orders part 2: the at-least-once consumer, called directly (it is pure).

Each criterion has its own batch (data.py), so a consumer that gets one rule
wrong, or crashes on one kind of message, loses that criterion only:

- dedupe (7): the dedupe batch on an empty state;
- latest (8): the ordering batch on an empty state;
- poison (9): the poison batch on an empty state, then again on the state it
  returned (nothing may be dead-lettered twice);
- replay (10): the replay batch on an empty state, the same batch on the
  state it returned, then a redelivery of every third message plus one new
  message on the state after that.

Between calls the state goes through JSON, as a caller storing it would; the
replay calls are watched for changes to the state they were given
(``watch_args``: the child sends back what it holds after the call, and the
grader compares that with what it sent).
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
    """The replay batch's three calls, each on the state the one before returned."""

    first: CallRecord  # the replay batch on an empty state
    replay: CallRecord | None
    redelivery: CallRecord | None
    stored: str | None = None  # why a returned state could not be stored as JSON, if it could not
    sent: tuple = ()  # the state each call was given, as sent


class Poisoned(NamedTuple):
    """The poison batch, and the same batch again on the state it returned."""

    first: CallRecord
    again: CallRecord | None


def _shape(record: CallRecord | None, before: str = "the first call"):
    """The call's result, or (None, why it cannot be judged)."""
    if record is None:
        return None, f"not called, because {before} returned no state"
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


def _next_state(value):
    """The state to give the next call (stored as JSON when it can be), and why it could not be stored."""
    state, problem = _stored(value["state"])
    return (state if state is not None else value["state"]), problem


def _call(run, batch, state, watch=False) -> CallRecord:
    return run.call(TARGET, [dict(m) for m in batch], state, watch_args=watch)


def probe_poison(run) -> Poisoned:
    """The poison batch on an empty state, then again on the state it returned."""
    first = _call(run, run.data.poison_batch, {})
    value, _ = _shape(first)
    return Poisoned(first, _call(run, run.data.poison_batch, _next_state(value)[0]) if value else None)


def probe_replay(run) -> Consumed:
    """The replay batch three times, each on the state the call before returned (stored as JSON between)."""
    data = run.data
    first = _call(run, data.replay_batch, {}, watch=True)
    value, _ = _shape(first)
    if value is None:
        return Consumed(first, None, None, sent=({},))
    given, stored = _next_state(value)
    replay = _call(run, data.replay_batch, given, watch=True)
    again, _ = _shape(replay)
    state, problem = _next_state(again) if again else (given, None)
    redelivery = _call(run, data.redelivery, state, watch=True)
    return Consumed(first, replay, redelivery, stored or problem, ({}, given, state))


def _hashable(value):
    """A learner's value as a dict key: itself when it can be one, else its compact rendering."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else show(value, 60)


def _describe(data, message_id: str) -> str:
    message = next(m for m in data.messages if m["message_id"] == message_id)
    twin = next((m for m in data.messages if m["payload"] == message["payload"] and m["message_id"] != message_id),
                None)
    case = next((m for m in data.messages if m["message_id"] != message_id
                 and m["message_id"].lower() == message_id.lower()), None)
    note = f", same payload as {twin['entity_id']} v{twin['version']}" if twin else ""
    note += f", id differs only in case from {case['message_id']}" if case else ""
    return f"{message['entity_id']} v{message['version']}{note}"


def check_dedupe(record: CallRecord, data):
    value, why = _shape(record)
    if why:
        return failed(f"no result to judge: {why}")
    applied = [_hashable(i) for i in value["applied"]]
    counts = Counter(applied)
    group = [i for i in applied if i in data.dedupe_ids]
    rows = [(i, [f"applied {n} times"]) for i, n in counts.items() if n > 1]
    rows += [(i, [f"not applied ({_describe(data, i)})"]) for i in data.dedupe_ids if i not in group]
    if not rows and group != list(data.dedupe_ids):
        rows.append(("order", ["messages applied out of their arrival order"]))
    if rows:
        return failed(f"{len(rows)} problems: each distinct message ID must be applied once, even when another "
                      "message carried the same payload or an id that differs only in case",
                      mismatch_table(rows, len(data.dedupe_ids)))
    return passed(f"{len(data.dedupe_ids)} distinct messages applied once each; redeliveries skipped, "
                  "look-alike payloads and ids differing in case kept")


def _final_rows(entities: dict, finals) -> list:
    rows = []
    for entity, version, payload in finals:
        got = entities.get(entity)
        if got != {"version": version, "payload": payload}:
            have = f"v{got.get('version')} {show(got.get('payload'), 50)}" if isinstance(got, dict) else show(got)
            rows.append((entity, [f"expected v{version} {show(payload, 50)}", f"got {have}"]))
    return rows


def check_latest(record: CallRecord, data):
    value, why = _shape(record)
    if why:
        return failed(f"no result to judge: {why}")
    rows = [(i, ["applied, though a version as high or higher had arrived before it"])
            for i in data.stale_ids if i in value["applied"]]
    rows += _final_rows(value["state"]["entities"], data.finals)
    if rows:
        return failed(f"{len(rows)} problems: each entity must hold its highest version (the first to arrive when "
                      "two messages share it), and older or equal versions must not be applied",
                      mismatch_table(rows, len(data.finals) + len(data.stale_ids)))
    return passed(f"all {len(data.finals)} entities hold their highest version, whatever the arrival order; "
                  f"{len(data.stale_ids)} late or equal versions were not applied")


def check_poison(poisoned: Poisoned, data):
    value, why = _shape(poisoned.first)
    if why:
        return failed(f"no result to judge: {why}")
    letters = [d for d in value["dead_letters"] if isinstance(d, dict)]
    ids = Counter(_hashable(d.get("message_id")) for d in letters)
    lines = [f"{p} is not in dead_letters" for p in data.poison_ids if not ids[p]]
    lines += [f"{p} is in dead_letters {ids[p]} times (it was delivered twice)" for p in data.poison_ids if ids[p] > 1]
    lines += [f"{i} is in dead_letters but is a valid message" for i in ids if i not in data.poison_ids]
    lines += [f"{show(d.get('message_id'), 40)}: no reason given" for d in letters
              if not (isinstance(d.get("reason"), str) and d["reason"].strip())]
    entities = {m.get("entity_id") for m in data.poison_batch if m["message_id"] in data.poison_ids}
    lines += [f"{i} was applied" for i in value["applied"] if i in data.poison_ids]
    lines += [f"{i}, a valid message after a poison one, was not applied: the batch must go on"
              for i in data.valid_between if i not in value["applied"]]
    lines += [f"entity {show(e)} was changed by a poison message" for e in value["state"]["entities"]
              if e in entities and e]
    again, why = _shape(poisoned.again, "the poison batch")
    if why:
        lines.append(f"the same batch again: {why}")
    elif again["dead_letters"]:
        lines.append(f"fed the same batch again on the state it returned, it dead-lettered "
                     f"{len(again['dead_letters'])} messages again: a poison message counts as seen")
    if lines:
        return failed("the poison messages were not set aside in dead_letters with a reason, once",
                      "\n".join(lines[:6]))
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
    calls = (("the first call", consumed.first), ("the replay", consumed.replay),
             ("the redelivery", consumed.redelivery))
    for (label, record), sent in zip(calls, consumed.sent):
        if _changed(record, sent):
            lines.append(f"{label} modified the state it was given (before {show(sent, 50)}, after "
                         f"{show(record.args_after[1], 50)}): return a new state instead")
    if lines:
        return failed("the state contract was broken", "\n".join(lines))
    return passed("every state returned survives JSON, and no call modified the state it was given")


CHECKS = (
    ("dedupe-by-message-id", "Each message ID is processed once; look-alike payloads are not duplicates", 9,
     "idempotent-consumer", 7, "consume-dedupe", check_dedupe),
    ("latest-version-wins", "The highest version per entity wins, whatever the arrival order", 9, "ordering", 8,
     "consume-ordering", check_latest),
    ("dead-letters-poison", "Poison messages go to dead_letters with a reason, once; the batch goes on", 10,
     "error-handling", 9, "consume-poison", check_poison),
    ("replay-is-noop", "Replaying the batch is a no-op", 6, "idempotent-consumer", 10, "consume-replay",
     check_replay),
    ("state-contract", "The state survives JSON and the state given is never modified", 4, "idempotent-consumer",
     10, "consume-replay", check_state),
)


def register(grader) -> None:
    """Add the consumer probes (one per batch, so a call that hangs costs its own criterion) and checks."""
    grader.probe("consume-dedupe")(lambda run: _call(run, run.data.dedupe_batch, {}))
    grader.probe("consume-ordering")(lambda run: _call(run, run.data.ordering_batch, {}))
    grader.probe("consume-poison")(probe_poison)
    grader.probe("consume-replay")(probe_replay)
    for check_id, title, points, skill, criterion, probe, func in CHECKS:
        grader.check(check_id, title=title, points=points, skill=skill, dimension=Dimension.INTEGRATION,
                     criterion=criterion, probe=probe)(func)
