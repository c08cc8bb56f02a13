"""An idempotent consumer for an at-least-once order-status feed."""
from __future__ import annotations

import copy


def _poison(message) -> str | None:
    """Why a message cannot be processed, or None when it can."""
    if not isinstance(message, dict):
        return f"a message must be an object, got {type(message).__name__}"
    if not isinstance(message.get("message_id"), str) or not message["message_id"]:
        return "message_id is missing"
    if not isinstance(message.get("entity_id"), str) or not message["entity_id"]:
        return "entity_id is missing or not a string"
    version = message.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return f"version must be a positive integer, got {version!r}"
    if not isinstance(message.get("payload"), dict):
        return f"payload must be an object, got {type(message.get('payload')).__name__}"
    return None


def consume_messages(messages: list[dict], state: dict) -> dict:
    """Apply a batch on top of ``state``: each message ID once, the highest version per entity wins.

    Returns {"state": new state, "applied": [ids applied now], "dead_letters": [{"message_id", "reason"}]}.
    ``state`` is not modified.
    """
    entities = copy.deepcopy(state.get("entities", {}))
    seen = list(state.get("seen", []))
    known = set(seen)
    applied: list[str] = []
    dead_letters: list[dict] = []
    for message in messages:
        message_id = message.get("message_id") if isinstance(message, dict) else None
        if isinstance(message_id, str) and message_id in known:
            continue  # delivered before: at-least-once delivery repeats itself
        reason = _poison(message)
        if isinstance(message_id, str) and message_id:
            seen.append(message_id)
            known.add(message_id)
        if reason:
            dead_letters.append({"message_id": message_id, "reason": reason})
            continue
        current = entities.get(message["entity_id"])
        if current is not None and message["version"] <= current["version"]:
            continue  # older than what we have: it arrived late
        entities[message["entity_id"]] = {"version": message["version"],
                                          "payload": copy.deepcopy(message["payload"])}
        applied.append(message_id)
    return {"state": {"entities": entities, "seen": seen}, "applied": applied, "dead_letters": dead_letters}
