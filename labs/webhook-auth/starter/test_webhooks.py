"""Visible tests for webhooks.py: run them with ``pytest`` in this folder.

They use the samples in ``fixtures/``: deliveries signed with a sample secret
and tokens signed with a sample key. ``iclab check`` grades with other
secrets, keys, clocks and cases, so code that only fits these samples will
not score.
"""

import ast
import copy
import json
from pathlib import Path

import pytest

from webhooks import AuthError, validate_jwt, verify_webhook

HERE = Path(__file__).parent
WEBHOOKS = json.loads((HERE / "fixtures" / "deliveries.json").read_text(encoding="utf-8"))
TOKENS = json.loads((HERE / "fixtures" / "tokens.json").read_text(encoding="utf-8"))


def delivery(name: str) -> dict:
    """A fresh copy of the sample delivery called ``name``."""
    for case in WEBHOOKS["deliveries"]:
        if case["name"] == name:
            return copy.deepcopy(case)
    raise LookupError(name)


def verify(case: dict, seen_ids: list | None = None, **kwargs) -> dict:
    """Call verify_webhook on a sample: the body's UTF-8 bytes are the raw body as received."""
    seen = case["seen_ids"] if seen_ids is None else seen_ids
    return verify_webhook(case["headers"], case["body"].encode("utf-8"), WEBHOOKS["secret"], WEBHOOKS["now"], seen, **kwargs)


def validate(name: str, **kwargs) -> dict:
    token = next(t for t in TOKENS["tokens"] if t["name"] == name)
    return validate_jwt(token["token"], TOKENS["key"], TOKENS["now"], TOKENS["issuer"], TOKENS["audience"], **kwargs)


def reason_of(call) -> str:
    with pytest.raises(AuthError) as info:
        call()
    return info.value.reason


def test_valid_delivery_returns_the_event():
    case = delivery("valid")
    assert verify(case) == case["expect"]["event"]


def test_signature_covers_the_raw_bytes_as_sent():
    # Pretty-printed with a non-ASCII name: json.dumps(json.loads(body)) gives other bytes.
    case = delivery("pretty-printed-body")
    assert verify(case) == case["expect"]["event"]


def test_tampered_body_is_refused():
    assert reason_of(lambda: verify(delivery("tampered-amount"))) == "bad_signature"


def test_old_delivery_is_refused_unless_the_window_allows_it():
    case = delivery("fifteen-minutes-old")
    assert reason_of(lambda: verify(case)) == "stale_timestamp"
    assert verify(case, tolerance=1200)["id"] == "evt_sample_0004"


def test_replay_store_refuses_seen_ids_and_records_new_ones():
    assert reason_of(lambda: verify(delivery("redelivered"))) == "replayed"
    seen = ["evt_sample_0099"]
    verify(delivery("valid"), seen)
    assert seen == ["evt_sample_0099", "evt_sample_0001"]
    assert reason_of(lambda: verify(delivery("valid"), seen)) == "replayed"
    assert seen == ["evt_sample_0099", "evt_sample_0001"]  # a rejection records nothing


def test_header_name_case_and_rotated_secrets():
    case = delivery("rotated-secret-lower-case-header")
    assert verify(case) == case["expect"]["event"]


def test_missing_or_unreadable_header_is_malformed():
    assert reason_of(lambda: verify(delivery("no-signature-header"))) == "malformed_header"
    case = delivery("valid")
    case["headers"]["Webhook-Signature"] = "sha256=" + case["headers"]["Webhook-Signature"]
    assert reason_of(lambda: verify(case)) == "malformed_header"


def test_signatures_are_compared_with_compare_digest():
    tree = ast.parse((HERE / "webhooks.py").read_text(encoding="utf-8"))
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert "compare_digest" in called, "use hmac.compare_digest, not ==, to compare signatures"


def test_valid_tokens_return_their_claims():
    for name in ("valid", "audience-list"):
        token = next(t for t in TOKENS["tokens"] if t["name"] == name)
        assert validate(name) == token["expect"]["claims"], name


def test_expiry_allows_the_leeway_and_no_more():
    assert validate("expired-20s-ago-within-leeway")["sub"] == "svc-order-sync"
    assert reason_of(lambda: validate("expired-20s-ago-within-leeway", leeway=0)) == "expired"
    assert reason_of(lambda: validate("expired-an-hour-ago")) == "expired"


def test_refused_tokens_give_the_right_reason():
    for token in TOKENS["tokens"]:
        if "reason" in token["expect"]:
            assert reason_of(lambda: validate(token["name"])) == token["expect"]["reason"], token["name"]
