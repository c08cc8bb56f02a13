"""idempotent-orders' hidden data per acceptance criterion: the edge classes each criterion's checks meet, and where.

Roles are data.ROLES (each create-batch order's faults, data.PLAN); message groups are data._messages().
"""
from __future__ import annotations

COVERAGE = {
    1: ("every fault kind on some order, the key checked on every attempt and resend — create scene, data.PLAN",
        "two orders with the same customer, currency and lines but different order_refs — role 'twin'"),
    2: ("a rerun of the whole batch in a new interpreter (another hash seed) on the same ERP — rerun probe, "
        "run.fresh(new_interpreter=True)",
        "five fresh orders the create scene never saw — make_hidden() rerun_batch"),
    3: ("a commit then a dropped connection, a held create past the timeout, 503/500/502/504 in a row up to the "
        "last allowed attempt, a connection closed before the ERP got the order on every attempt — roles "
        "dropped-after-commit, slow, transient, unreachable",
        "429 as seconds and as HTTP-date, 503 with a padded lower-case retry-after, a date already past, 0 s — "
        "roles throttled, skewed",
        "an expired token then 503 until max_attempts (the resend not an attempt) — role expired-then-down"),
    4: ("one order per order that can be created, ids named in the result — create scene",
        "orders the ERP never accepts (422, closed connections, 503 throughout, a refused token) leave none — "
        "roles invalid, unreachable, expired-then-down, token-refused"),
    5: ("a create held 190 s: the retry meets 409 with Retry-After, then the replay — role slow",
        "the same key on the retry after the 409 — waits-out-409"),
    6: ("a 422 listing three problems (quantity 0, a one-decimal price, a lower-case sku) — role invalid",
        "a 401 after the refresh, 503 after max_attempts, no answer after max_attempts (status None) — roles "
        "token-refused, expired-then-down, unreachable"),
    7: ("redeliveries of the same message id, and different ids with identical payloads — dedupe batch",
        "ids that differ only in case are two messages — dedupe batch d4"),
    8: ("versions arriving out of order for four entities — ordering batch",
        "two different messages with the same version: the first to arrive stays — ordering batch v4"),
    9: ("entity_id missing, empty, a number; version '2', null, true, 0, 1.5; payload a string, null, a list — "
        "poison batch x1-x10",
        "several problems in one message, a poison message delivered twice, valid messages after poison, the batch "
        "fed again (nothing dead-lettered twice) — poison batch x11, x1, p0-p2"),
    10: ("the whole batch again on the returned state, then every third message plus one new one — replay batch",
         "the state stored as JSON between calls, and the state given never modified (watch_args) — "
         "state-contract"),
}
