"""An idempotent consumer for an at-least-once order-status feed (see README.md for the contract)."""
from __future__ import annotations


def consume_messages(messages: list[dict], state: dict) -> dict:
    """Apply a batch of messages on top of ``state`` (``{}`` the first time).

    Returns {"state": new_state, "applied": [message ids applied now],
             "dead_letters": [{"message_id": ..., "reason": ...}, ...]}.
    """
    raise NotImplementedError("consume_messages: each message ID once, highest version wins, poison aside")
