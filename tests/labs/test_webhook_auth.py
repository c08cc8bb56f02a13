"""webhook-auth's grader: the source reader for constant-time comparison, the hidden data, and independence."""
from __future__ import annotations

import importlib.util
import json
import textwrap
from decimal import Decimal

import pytest

from graders import catalog, engine
from graders.labs import webhook_auth as wa
from graders.results import Status

ROOT = catalog.paths.ROOT
REFERENCE = ROOT / "solutions/webhook-auth/reference/webhooks.py"
ENTRIES = ("verify_webhook", "validate_jwt")


def findings(source: str) -> list[str]:
    return wa.constant_time_findings(textwrap.dedent(source), ENTRIES)


def _stub(body: str) -> str:
    """A module whose validate_jwt is fine, with ``body`` as verify_webhook's signature check."""
    return f"""
import hmac, hashlib
def _sign(secret, t, body):
    return hmac.new(secret.encode(), f"{{t}}.".encode() + body, hashlib.sha256).hexdigest()
def verify_webhook(headers, raw_body, secret, now, seen_ids, tolerance=300):
    t, given = 1, headers["v1"]
    expected = _sign(secret, t, raw_body)
{textwrap.indent(textwrap.dedent(body), "    ")}
def validate_jwt(token, key, now, issuer, audience, leeway=30):
    mac = hmac.new(key.encode(), token.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(mac, token.encode())
"""


def test_reference_source_has_no_findings():
    assert findings(REFERENCE.read_text()) == []


@pytest.mark.parametrize("body, op", [
    ("if expected != given: raise ValueError", "!="),
    ("if given not in [expected]: raise ValueError", "not in"),
    ("ok = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest() == given", "=="),
    ("copy = expected.encode()\nif copy == given.encode(): return {}", "=="),
])
def test_equality_on_a_mac_is_found_with_its_line(body, op):
    found = findings(_stub(body))
    assert any(f"compares a signature with `{op}`" in f and f.startswith("verify_webhook: line ") for f in found), found


def test_length_checks_and_compare_digest_verdicts_are_not_findings():
    body = """
    if len(expected) != len(given):
        raise ValueError
    if hmac.compare_digest(expected, given) == False:
        raise ValueError
    """
    assert findings(_stub(body)) == []


def test_compare_digest_imported_under_another_name_counts():
    source = _stub("if not cd(expected, given): raise ValueError").replace("import hmac, hashlib",
                                                                         "import hmac, hashlib\nfrom secrets import compare_digest as cd")
    assert findings(source) == []


def test_an_entry_point_that_never_compares_in_constant_time_is_named():
    found = findings(_stub("return {}"))
    assert found == ["verify_webhook never calls hmac.compare_digest to compare the signature"]


def test_unparseable_source_is_reported_not_raised():
    assert "cannot be parsed" in findings("def verify_webhook(:\n")[0]


def _load_reference():
    spec = importlib.util.spec_from_file_location("webhooks_reference_for_test", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outcome(call):
    try:
        return call()
    except Exception as exc:  # AuthError of the loaded module
        return getattr(exc, "reason", repr(exc))


def test_every_hidden_expectation_agrees_with_the_reference():
    ref = _load_reference()
    data = wa.grader.data()
    for group in ("valid", "raw_body", "bad_signature", "header_parsing", "stale", "replay", "records"):
        for d in getattr(data, group):
            kwargs = {} if d.tolerance is None else {"tolerance": d.tolerance}
            got = _outcome(lambda: ref.verify_webhook(dict(d.headers), d.body, d.secret, d.now, list(d.seen), **kwargs))
            assert got == d.expect, (group, d.label)
    for group in ("jwt_valid", "jwt_bad_signature", "jwt_time", "jwt_issuer", "jwt_audience", "jwt_alg"):
        for t in getattr(data, group):
            kwargs = {} if t.leeway is None else {"leeway": t.leeway}
            got = _outcome(lambda: ref.validate_jwt(t.token, t.key, t.now, t.issuer, t.audience, **kwargs))
            assert got == t.expect, (group, t.label)


def test_hidden_data_shares_nothing_with_the_visible_fixtures():
    fixtures = ROOT / "fixtures/webhook-auth"
    visible = (fixtures / "deliveries.json").read_text() + (fixtures / "tokens.json").read_text()
    data = wa.grader.data()
    secrets = {d.secret for d in data.valid + data.stale} | {t.key for t in data.jwt_valid}
    assert len(secrets) == 2 and not any(s in visible for s in secrets)
    assert not any(d.expect["id"] in visible for d in data.valid)
    assert json.loads((fixtures / "deliveries.json").read_text())["now"] not in {d.now for d in data.valid}


def test_hidden_bodies_keep_money_out_of_floats():
    data = wa.grader.data()
    fraction = next(d for d in data.raw_body if d.label == "raw-fraction")
    assert isinstance(fraction.expect["data"]["amount"], Decimal)
    for d in data.valid:
        assert isinstance(d.expect["data"]["amount"], str)


def test_equality_compare_in_validate_jwt_alone_costs_only_its_check(tmp_path):
    source = REFERENCE.read_text()
    old = 'if not hmac.compare_digest(expected.encode("ascii"), signature_b64.encode("utf-8")):'
    assert old in source
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "webhooks.py").write_text(source.replace(old, "if expected != signature_b64:"))
    result = engine.grade(catalog.get_lab("webhook-auth"), sub)
    lost = {c.id for c in result.checks if c.status is not Status.PASSED}
    assert lost == {"constant-time-compare"}
    check = next(c for c in result.checks if c.id == "constant-time-compare")
    assert "validate_jwt: line" in check.reason and "`!=`" in check.reason
