"""Visible tests for sync.py: each runs your code against the stubbed CRM and reads the CRM's journal.

The journal (``service.journal.entries()``) records every request the CRM
received: method, target, headers, the virtual time it arrived (``.at``) and
the response it got. ``iclab check`` judges the same evidence with other
accounts, other credentials, other settings and nastier scenarios.
"""
from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime

from mock_services import From, Nth, Scenario, ServerError, on

from sync import fetch_accounts, sync_accounts

LIST = "GET /v1/accounts"


def canonical(account: dict) -> dict:
    return {"account_id": account["id"], "name": account["name"], "status": account["status"],
            "country": account["country"], "email": account["email"], "phone": account["phone"],
            "updated_at": account["updated_at"]}


def api_calls(service) -> list:
    return [e for e in service.journal.entries() if e.path != "/oauth/token"]


def token_calls(service) -> list:
    return [e for e in service.journal.entries() if e.path == "/oauth/token"]


def retries(service) -> list:
    """(attempt, next attempt) pairs: consecutive API requests for the same target."""
    calls = api_calls(service)
    return [(a, b) for a, b in zip(calls, calls[1:]) if a.target == b.target]


def test_returns_every_account_as_a_canonical_record(crm, config):
    service = crm("happy")
    result = sync_accounts(config)
    assert result["failures"] == []
    assert result["records"] == [canonical(a) for a in service.accounts()]


def test_gets_one_token_and_reuses_it(crm, config):
    service = crm("happy")
    sync_accounts(config)
    assert len(token_calls(service)) == 1
    assert len({e.header("Authorization") for e in api_calls(service)}) == 1


def test_follows_the_cursor_while_accounts_are_created(crm, config):
    service = crm("growing")
    existing = [a["id"] for a in service.accounts()]
    ids = [r["account_id"] for r in sync_accounts(config)["records"]]
    assert len(ids) == len(set(ids)), "an account came back twice"
    assert set(existing) <= set(ids), "an account that existed before the sync is missing"


def test_gets_a_new_token_once_when_the_token_expires(crm, config):
    service = crm("token-expiry")
    result = sync_accounts(config)
    assert result["failures"] == []
    assert len(result["records"]) == len(service.accounts())
    assert len(token_calls(service)) == 2


def test_waits_as_long_as_retry_after_asks(crm, config):
    service = crm("throttled")
    result = sync_accounts(config)
    assert result["failures"] == []
    throttled = [(a, b) for a, b in retries(service) if a.status == 429]
    assert len(throttled) == 3
    for attempt, retry in throttled:
        asked = attempt.response.header("Retry-After")
        until = attempt.at + int(asked) if asked.isdigit() else parsedate_to_datetime(asked).timestamp()
        assert retry.at >= until, f"retried {retry.at - attempt.at:.1f} s after a 429 asking for {asked}"


def test_backs_off_exponentially_with_jitter(crm, config):
    service = crm(Scenario("three-503s", (on(LIST, ServerError(503), when=Nth(2, 3, 4)),)))
    assert sync_accounts(config)["failures"] == []
    waits = [b.at - a.at for a, b in retries(service)]
    assert len(waits) == 3
    nominal = [min(config["backoff_cap"], config["backoff_base"] * 2 ** n) for n in range(3)]
    for wait, top in zip(waits, nominal):
        assert top / 2 <= wait <= top, f"waited {wait:.2f} s, expected {top / 2} to {top} s"
    assert waits != nominal, "no jitter: every wait was exactly the nominal backoff"


def test_gives_up_after_max_attempts_and_reports_it(crm, config):
    service = crm(Scenario("down", (on(LIST, ServerError(500), when=From(2)),)))
    result = sync_accounts(config)
    second_page = [e for e in api_calls(service) if "starting_after" in e.target]
    assert len(second_page) == config["max_attempts"]
    assert len(result["records"]) == config["page_size"]
    [failure] = result["failures"]
    assert failure["status"] == 500 and failure["attempts"] == config["max_attempts"]
    assert failure["correlation_id"] == second_page[0].header("X-Correlation-ID")


def test_a_404_is_reported_once_with_its_correlation_id(crm, config):
    service = crm("happy")
    result = fetch_accounts(config, ["acc_00003", "acc_09999"])
    assert [r["account_id"] for r in result["records"]] == ["acc_00003"]
    missing = [e for e in api_calls(service) if e.path.endswith("/acc_09999")]
    assert len(missing) == 1, "a 404 must not be retried"
    [failure] = result["failures"]
    assert failure["status"] == 404 and "acc_09999" in failure["operation"]
    assert failure["correlation_id"] == missing[0].header("X-Correlation-ID")


def test_keeps_one_correlation_id_per_operation_across_retries(crm, config):
    service = crm("flaky")
    assert sync_accounts(config)["failures"] == []
    assert retries(service), "the flaky CRM should have made you retry"
    for attempt, retry in retries(service):
        assert retry.header("X-Correlation-ID") == attempt.header("X-Correlation-ID")
    pages = {e.target: e.header("X-Correlation-ID") for e in api_calls(service)}
    assert len(set(pages.values())) == len(pages), "two operations shared a correlation ID"


def test_sets_a_timeout_on_every_request(crm, config):
    service = crm("slow")  # the second page takes 60 s
    assert sync_accounts(config)["failures"] == []
    held = [e for e in service.journal.entries() if e.response.stall]
    assert held and all(e.client_gone for e in held), "the client waited for a 60 s response"


def test_never_logs_the_secret_or_the_token(crm, config, caplog):
    caplog.set_level(logging.DEBUG)
    service = crm("token-expiry")
    sync_accounts(config)
    assert caplog.records, "log what the sync does (without secrets)"
    assert config["client_secret"] not in caplog.text
    for token in service.tokens.tokens():
        assert token.value not in caplog.text
