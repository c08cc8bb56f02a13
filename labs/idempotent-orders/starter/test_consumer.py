"""Visible tests for consumer.py, with the feed in fixtures/messages.json and its expected outcome."""
from __future__ import annotations

import copy

from consumer import consume_messages


def test_each_message_id_is_applied_once(feed):
    result = consume_messages(feed["messages"], {})
    assert result["applied"] == feed["expected"]["applied"]


def test_the_highest_version_wins_whatever_the_arrival_order(feed):
    result = consume_messages(feed["messages"], {})
    assert result["state"]["entities"] == feed["expected"]["entities"]


def test_poison_goes_to_dead_letters_with_a_reason(feed):
    result = consume_messages(feed["messages"], {})
    assert [d["message_id"] for d in result["dead_letters"]] == feed["expected"]["dead_letters"]
    assert all(isinstance(d["reason"], str) and d["reason"].strip() for d in result["dead_letters"])


def test_a_replay_of_the_batch_changes_nothing(feed):
    first = consume_messages(feed["messages"], {})
    kept = copy.deepcopy(first["state"])
    again = consume_messages(feed["messages"], first["state"])
    assert again["applied"] == [] and again["dead_letters"] == []
    assert again["state"] == kept and first["state"] == kept, "the state must not be modified in place"
