"""Visible tests for masking_filter.py: run them with ``pytest`` in this folder.

``fixtures/samples.json`` pairs sample log text with what ``mask_text`` must
make of it. ``iclab check`` logs other records, with other secrets, through
your PiiFilter and JsonFormatter, so code that only fits these samples will
not score.
"""

import copy
import io
import json
import logging
from decimal import Decimal
from pathlib import Path

from masking_filter import JsonFormatter, PiiFilter, mask_text

SAMPLES = {s["name"]: s for s in json.loads(
    (Path(__file__).parent / "fixtures" / "samples.json").read_text(encoding="utf-8"))["samples"]}


def check(*names: str) -> None:
    for name in names:
        assert mask_text(SAMPLES[name]["text"]) == SAMPLES[name]["masked"], name


def log(msg, *args, extra=None, level=logging.INFO) -> str:
    """Log one record through a handler carrying PiiFilter and JsonFormatter; return what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.partner_sync")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.log(level, msg, *args, extra=extra)
    return stream.getvalue()


def test_emails_and_phones():
    check("email", "phone")


def test_only_luhn_valid_cards_are_masked_keeping_the_last_four():
    check("card", "card-amex")


def test_national_ids():
    check("ssn", "nino")


def test_tokens_and_authorization_headers():
    check("bearer", "basic")


def test_secrets_in_query_strings_forms_and_json():
    check("query", "form", "json", "json-escaped")


def test_url_encoded_secrets_and_emails():
    check("url-encoded", "url-encoded-email")


def test_ids_timestamps_and_amounts_stay_readable():
    check("safe")


def test_filter_masks_the_message_after_args_are_applied():
    out = json.loads(log("POST /token client_id=%s&client_secret=%s for %s", "erp", "Zx9-Qw8.Er7", "jane.doe@example.com"))
    assert out["message"] == "POST /token client_id=erp&client_secret=*** for [EMAIL]"
    out = json.loads(log("Refund %(amount)s to %(card)s", {"amount": Decimal("12.50"), "card": "4111111111111111"}))
    assert out["message"] == "Refund 12.50 to [CARD ****1111]"


def test_filter_masks_extras_without_changing_the_callers_objects():
    headers = {"Authorization": "Bearer abcdefghijklmnop", "Accept": "application/json"}
    extra = {"headers": headers, "customer": {"email": "jane.doe@example.com", "id": 42}, "password": "pa55word"}
    before = copy.deepcopy(extra)
    out = json.loads(log("Partner call failed", extra=extra))
    assert out["headers"] == {"Authorization": "***", "Accept": "application/json"}
    assert out["customer"] == {"email": "[EMAIL]", "id": 42}
    assert out["password"] == "***"
    assert extra == before, "the caller's dicts must not be changed"


def test_filter_never_drops_a_record():
    record = logging.LogRecord("x", logging.WARNING, "f.py", 1, "card 4111111111111111", (), None)
    assert PiiFilter().filter(record) is True
    assert record.getMessage() == "card [CARD ****1111]"


def test_json_formatter_writes_one_object_per_line():
    written = log("Order %s shipped", "SO-1001", extra={"order_id": "4929123456789013", "amount": Decimal("1249.90")},
                  level=logging.WARNING)
    assert written.count("\n") == 1
    out = json.loads(written)
    assert out["level"] == "WARNING" and out["logger"] == "tests.partner_sync"
    assert out["message"] == "Order SO-1001 shipped"
    assert out["order_id"] == "4929123456789013" and out["amount"] == "1249.90"
    record = logging.LogRecord("x", logging.INFO, "f.py", 1, "hello", (), None)
    record.created = 1735689599.25  # 2024-12-31T23:59:59.250 UTC
    assert json.loads(JsonFormatter().format(record))["ts"] == "2024-12-31T23:59:59.250Z"
