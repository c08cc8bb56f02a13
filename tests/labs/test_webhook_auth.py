"""webhook-auth's grader: the source reader for constant-time comparison, the hidden data, and independence."""
from __future__ import annotations

import importlib.util
import json
import textwrap
from decimal import Decimal

import pytest

from graders import catalog, engine, paths
from graders.labs import webhook_auth as wa
from graders.labs.webhook_auth.hidden import DELIVERY_GROUPS, TOKEN_GROUPS
from graders.results import Status

ROOT = paths.ROOT
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


def _cases(data, groups):
    for group in groups:
        for case in getattr(data, group):
            yield from ((group, c) for c in ((case.both, case.first, case.second) if group.endswith("order") else (case,)))


def test_every_hidden_expectation_agrees_with_the_reference():
    ref = _load_reference()
    data = wa.grader.data()
    for group, d in _cases(data, DELIVERY_GROUPS):
        kwargs = {} if d.tolerance is None else {"tolerance": d.tolerance}
        got = _outcome(lambda: ref.verify_webhook(dict(d.headers), d.body, d.secret, d.now, list(d.seen), **kwargs))
        assert wa._same(got, d.expect), (group, d.label)
    for group, t in _cases(data, TOKEN_GROUPS):
        kwargs = {} if t.leeway is None else {"leeway": t.leeway}
        got = _outcome(lambda: ref.validate_jwt(t.token, t.key, t.now, t.issuer, t.audience, **kwargs))
        assert wa._same(got, t.expect), (group, t.label)


def test_order_cases_break_two_rules_and_their_twins_one_each():
    data = wa.grader.data()
    for case in data.webhook_order + data.jwt_order:
        assert case.first.expect == case.expect != case.second.expect, case.label


def test_edges_sit_on_both_sides_of_every_limit():
    data = wa.grader.data()
    ages = {(d.now - int(d.headers[wa.HEADER].split("t=")[1].split(",")[0]), d.tolerance, d.expect == "stale_timestamp")
            for d in data.stale}
    for tolerance in (None, 60, 0):
        t = wa.DEFAULT_TOLERANCE if tolerance is None else tolerance
        assert {(t, tolerance, False), (t + 1, tolerance, True)} <= ages, tolerance
        assert {(-t, tolerance, False), (-t - 1, tolerance, True)} <= ages or tolerance == 0, tolerance
    places = set()  # where the valid v1 stands among the v1 items of accepted headers: first, middle, last
    for d in data.header_parsing:
        if isinstance(d.expect, dict):
            value = next(v for k, v in d.headers.items() if k.lower() == wa.HEADER.lower())
            items = [i.strip() for i in value.split(",")]
            t = int(next(i for i in items if i.startswith("t="))[2:])
            v1s = [i[3:] for i in items if i.startswith("v1=")]
            at = v1s.index(wa.sign_webhook(d.secret, t, d.body))
            places.add("only" if len(v1s) == 1 else "first" if at == 0 else "last" if at == len(v1s) - 1 else "middle")
    assert places == {"only", "first", "middle", "last"}


def test_hidden_data_shares_nothing_with_the_visible_fixtures():
    fixtures = ROOT / "fixtures/webhook-auth"
    visible = (fixtures / "deliveries.json").read_text() + (fixtures / "tokens.json").read_text()
    data = wa.grader.data()
    secrets = {d.secret for d in data.valid + data.stale} | {t.key for t in data.jwt_valid}
    assert len(secrets) == 3 and not any(s in visible for s in secrets)
    assert not any(d.expect["id"] in visible for d in data.valid)
    assert json.loads((fixtures / "deliveries.json").read_text())["now"] not in {d.now for d in data.valid}


def test_hidden_bodies_keep_money_out_of_floats():
    data = wa.grader.data()
    fraction = next(d for d in data.raw_body if d.label == "raw-fraction")
    assert isinstance(fraction.expect["data"]["amount"], Decimal)
    numeric = next(d for d in data.valid if d.label == "numeric-amounts")
    assert isinstance(numeric.expect["data"]["amount"], Decimal)
    assert json.loads(numeric.body) == json.loads(json.dumps(json.loads(numeric.body)))  # round-trips as floats


def _grade(tmp_path, source: str):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "webhooks.py").write_text(source, encoding="utf-8")
    return engine.grade(catalog.get_lab("webhook-auth"), sub)


def _lost(result) -> set[str]:
    return {c.id for c in result.checks if c.status is not Status.PASSED}


def test_returning_floats_costs_only_the_valid_delivery_check(tmp_path):
    source = REFERENCE.read_text().replace("json.loads(raw_body, parse_float=Decimal)", "json.loads(raw_body)")
    assert _lost(_grade(tmp_path, source)) == {"accepts-valid-delivery"}


def test_the_window_checked_before_the_signature_costs_only_the_order_check(tmp_path):
    """Derived output: the two-rule cases are judged only where each rule works alone, so a solution whose
    rules are right but in the wrong order loses rule-order and nothing else."""
    source = REFERENCE.read_text()
    window = "    if abs(now - timestamp) > tolerance:\n        raise AuthError(\"stale_timestamp\")\n"
    assert window in source
    source = source.replace(window, "").replace("    expected = _webhook_signature(", window + "    expected = _webhook_signature(")
    assert _lost(_grade(tmp_path, source)) == {"rule-order"}


def test_a_missing_window_is_not_charged_again_by_the_store_or_the_order_checks(tmp_path):
    source = REFERENCE.read_text().replace("    if abs(now - timestamp) > tolerance:\n        raise AuthError(\"stale_timestamp\")\n", "")
    result = _grade(tmp_path, source)
    assert _lost(result) == {"rejects-stale-timestamp"}
    order = next(c for c in result.checks if c.id == "rule-order")
    assert "not judged" in order.reason


def test_claims_checked_before_the_signature_costs_only_the_order_check(tmp_path):
    source = REFERENCE.read_text()
    sig = """    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    expected = _b64url_encode(hmac.new(key.encode("utf-8"), signing_input, hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode("ascii"), signature_b64.encode("utf-8")):
        raise AuthError("bad_signature")
"""
    assert sig in source
    source = source.replace(sig, "").replace("    return claims\n", sig + "    return claims\n")
    assert _lost(_grade(tmp_path, source)) == {"rule-order"}


def test_a_symlinked_source_is_refused_not_followed(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "webhooks.py").symlink_to(REFERENCE)
    text, problem = wa.read_source(sub)
    assert text is None and "symbolic link" in problem
    (sub / "webhooks.py").unlink()
    (sub / "webhooks.py").mkdir()
    assert "not a regular file" in wa.read_source(sub)[1]


def test_a_source_with_a_bom_or_a_coding_line_is_read_as_python_reads_it(tmp_path):
    source = REFERENCE.read_text(encoding="utf-8")
    for data in (b"\xef\xbb\xbf" + source.encode("utf-8"),
                 b"# -*- coding: latin-1 -*-\n" + source.replace("Authenticate", "Authentifi\u00e9").encode("latin-1")):
        (tmp_path / "webhooks.py").write_bytes(data)
        text, problem = wa.read_source(tmp_path)
        assert problem is None and findings_of(text) == []


def findings_of(source) -> list[str]:
    return wa.constant_time_findings(source, ENTRIES)


def test_a_lambda_helper_calling_compare_digest_counts():
    source = _stub("if not same(expected, given): raise ValueError").replace(
        "import hmac, hashlib", "import hmac, hashlib\nsame = lambda a, b: hmac.compare_digest(a, b)")
    assert findings(source) == []


def test_equality_compare_in_validate_jwt_alone_costs_only_its_check(tmp_path):
    source = REFERENCE.read_text()
    old = 'if not hmac.compare_digest(expected.encode("ascii"), signature_b64.encode("utf-8")):'
    assert old in source
    result = _grade(tmp_path, source.replace(old, "if expected != signature_b64:"))
    assert _lost(result) == {"constant-time-compare"}
    check = next(c for c in result.checks if c.id == "constant-time-compare")
    assert "validate_jwt: line" in check.reason and "`!=`" in check.reason
