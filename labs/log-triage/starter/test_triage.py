"""Visible tests for triage.py and findings.toml: run them with ``pytest`` in this folder.

They use the sample bundle in ``fixtures/bundle/``. Passing them is a good
start, not the finish line: ``iclab check`` grades triage.py on other log
bundles, and grades findings.toml against the incidents' real causes.
"""
from __future__ import annotations

import copy
import tomllib
from datetime import datetime, timezone
from pathlib import Path

from triage import group_by_correlation, parse_line, timeline

HERE = Path(__file__).parent
BUNDLE = HERE / "fixtures" / "bundle"
CATEGORIES = {"auth_credentials", "rate_limited", "target_server_error", "timeout", "contract_change",
              "data_quality", "unsafe_replay"}
NEXT_STEP_KINDS = {"check_credentials", "check_quota", "escalate_to_target_owner", "check_target_state",
                   "check_source_record", "compare_contract", "check_connectivity"}
INCIDENTS = [f"INC-{n}" for n in range(1, 8)]


def line(name: str, needle: str) -> str:
    """The first line of fixtures/bundle/<name> that contains ``needle``."""
    for text in (BUNDLE / name).read_text(encoding="utf-8").splitlines():
        if needle in text:
            return text
    raise LookupError(needle)


def test_runtime_line():
    text = line("runtime.log", "token request to CRM failed")
    assert parse_line(text, "runtime") == {
        "ts": "2024-11-05T09:15:01.260Z",
        "source": "runtime",
        "correlation_id": "c-3c7b19e4",
        "level": "ERROR",
        "status": 401,
        "message": "token request to CRM failed: 401 Unauthorized (invalid_client); poll aborted, 0 orders fetched",
    }


def test_gateway_line_is_converted_to_utc():
    # The gateway logs Frankfurt time (+0100): 10:15:01 there is 09:15:01 UTC.
    text = line("gateway.log", "X-Correlation-ID=c-3c7b19e4")
    record = parse_line(text, "gateway")
    assert record["ts"] == "2024-11-05T09:15:01.000Z"
    assert (record["correlation_id"], record["level"], record["status"]) == ("c-3c7b19e4", "WARN", 401)
    assert record["message"].startswith("POST /oauth2/token?grant_type=client_credentials")


def test_erp_line_is_converted_to_utc():
    # The ERP logs Chicago time (-0600): 01:15 there is 07:15 UTC.
    text = line("erp.log", "cid=c-4b9d07a3")
    assert parse_line(text, "erp") == {
        "ts": "2024-11-05T07:15:02.703Z",
        "source": "erp",
        "correlation_id": "c-4b9d07a3",
        "level": "ERROR",
        "status": 500,
        "message": "create_sales_order failed for order_ref CRM-10482: NullPointerException in "
                   "PricingService.resolveTaxCode; transaction rolled back",
    }


def test_levels_and_missing_correlation_ids():
    assert parse_line(line("erp.log", "credit check"), "erp")["level"] == "WARN"  # logged as WARNING
    heartbeat = parse_line(line("runtime.log", "heartbeat"), "runtime")
    assert (heartbeat["correlation_id"], heartbeat["status"]) == (None, None)
    health = parse_line(line("gateway.log", "GET /health"), "gateway")
    assert (health["correlation_id"], health["level"]) == (None, "INFO")
    batch = parse_line(line("erp.log", "PRICE_SYNC started"), "erp")
    assert (batch["correlation_id"], batch["status"]) == (None, None)


def test_non_records_give_none():
    assert parse_line("", "runtime") is None
    assert parse_line('{"ts": "2024-11-05T07:0', "runtime") is None  # cut short
    assert parse_line("\tat com.example.erp.pricing.PricingService.resolveTaxCode(PricingService.java:212)", "erp") is None
    assert parse_line(line("erp.log", "java.lang.NullPointerException"), "erp") is None
    assert parse_line("-- access log reopened --", "gateway") is None


def test_secrets_are_masked():
    token = parse_line(line("gateway.log", "client_secret="), "gateway")
    assert token["message"].endswith("&client_secret=***")
    bearer = parse_line(line("runtime.log", "Bearer"), "runtime")
    assert '"Authorization": "Bearer ***"' in bearer["message"]
    basic = parse_line(line("erp.log", "Basic"), "erp")
    assert basic["message"] == "inbound request authenticated via Authorization: Basic ***"


def test_group_by_correlation():
    def rec(ts, cid, msg):
        return {"ts": ts, "source": "runtime", "correlation_id": cid, "level": "INFO", "status": None, "message": msg}

    records = [
        rec("2024-11-05T07:00:03.000Z", "a", "third"),
        rec("2024-11-05T07:00:01.000Z", "a", "first"),
        rec("2024-11-05T07:00:02.000Z", None, "no id"),
        rec("2024-11-05T07:00:02.000Z", "b", "only"),
        rec("2024-11-05T07:00:02.000Z", "a", "second"),
    ]
    before = copy.deepcopy(records)
    groups = group_by_correlation(records)
    assert {k: [r["message"] for r in v] for k, v in groups.items()} == {"a": ["first", "second", "third"], "b": ["only"]}
    assert records == before


def test_timeline_merges_three_sources_in_time_order():
    got = [(r["source"], r["ts"]) for r in timeline(str(BUNDLE), "c-c2e860d7")]
    assert got == [
        ("runtime", "2024-11-05T07:30:02.513Z"),
        ("runtime", "2024-11-05T07:30:02.534Z"),
        ("erp", "2024-11-05T07:30:02.811Z"),
        ("runtime", "2024-11-05T07:30:32.537Z"),
        ("erp", "2024-11-05T07:30:41.153Z"),
        ("erp", "2024-11-05T07:30:43.430Z"),
    ]


def test_timeline_of_an_unknown_id_is_empty():
    assert timeline(str(BUNDLE), "c-00000000") == []


def findings() -> dict:
    return tomllib.loads((HERE / "findings.toml").read_text(encoding="utf-8"))


def test_findings_are_complete():
    doc = findings()
    for incident in INCIDENTS:
        table = doc.get(incident, {})
        assert table.get("category") in CATEGORIES, f"{incident}: category must be one of {sorted(CATEGORIES)}"
        assert table.get("next_step_kind") in NEXT_STEP_KINDS, \
            f"{incident}: next_step_kind must be one of {sorted(NEXT_STEP_KINDS)}"
        assert isinstance(table.get("replay_safe"), bool), f"{incident}: replay_safe must be true or false"
        for field in ("next_step", "mitigation", "replay_why"):
            assert str(table.get(field, "")).strip(), f"{incident}: {field} is empty"
        assert table.get("evidence"), f"{incident}: cite the incident's key lines"
        for entry in table["evidence"]:
            assert entry.get("correlation_id") and entry.get("ts") and entry.get("source"), \
                f"{incident}: every citation needs correlation_id, ts and source"


def _millis(value) -> int:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def test_findings_evidence_names_real_lines():
    cited = [(incident, entry) for incident, table in findings().items() if isinstance(table, dict)
             for entry in table.get("evidence", [])]
    assert cited, "findings.toml cites no evidence yet"
    for incident, entry in cited:
        lines = {(_millis(r["ts"]), r["source"]) for r in timeline(str(BUNDLE), entry["correlation_id"])}
        assert (_millis(entry["ts"]), entry.get("source")) in lines, \
            f"{incident}: no {entry.get('source')} line of {entry['correlation_id']} at {entry['ts']} (UTC, to the millisecond)"
