"""Evidence shows synthetic grading data whole (the digits a learner must compare) and never a secret."""
from __future__ import annotations

import json
import re

from graders import catalog, engine
from graders.evidence import field_diff, show
from graders.masking import SYNTHETIC_CLOSE, SYNTHETIC_OPEN, mask, mask_secrets, synthetic
from graders.render import to_json, to_text


def test_a_wrong_phone_shows_every_digit_of_both_numbers():
    # before: "+54*****9431" against "+54*******9431", which hides exactly the difference
    line = mask(f"phone: expected {show('+5491123459431')}, got {show('+54091123459431')}")
    assert line == 'phone: expected "+5491123459431", got "+54091123459431"'
    assert mask('phone: expected "+5491123459431"') != 'phone: expected "+5491123459431"'  # unmarked: masked


def test_graded_evidence_of_a_phone_mistake_is_readable():
    lab = catalog.get_lab("map-customer")
    result = engine.grade(lab, catalog.reference(lab).parent / "flawed/naive-phone")
    check = next(c for c in result.checks if c.id == "phone-e164")
    pairs = re.findall(r'phone: expected "([^"]*)", got "([^"]*)"', check.evidence)
    assert pairs, check.evidence
    for want, got in pairs:
        assert "*" not in want + got and re.fullmatch(r"\+\d{8,15}", want)
    text = to_text(result)
    assert f'phone: expected "{pairs[0][0]}", got "{pairs[0][1]}"' in text


def test_secrets_inside_shown_values_stay_masked():
    value = {"Authorization": "Bearer abcdefgh12345678", "password": "hunter22", "token": "tok_9f8e7d6c5b"}
    text = mask(f"got {show(value, 400)}; then token={show('zz9-secret-value')}")
    for secret in ("abcdefgh12345678", "hunter22", "tok_9f8e7d6c5b", "zz9-secret-value"):
        assert secret not in text, text
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlZm9v"
    assert jwt not in mask(show(f"header {jwt}"))


def test_free_text_around_shown_values_is_still_masked():
    text = mask(f"last output: call jane.doe@corp.example or +44 20 7946 0958; expected {show('jane.doe@corp.example')}")
    assert text.startswith("last output: call j***@corp.example or +44 ** **** 0958;")
    assert text.endswith('expected "jane.doe@corp.example"')


def test_markers_never_reach_a_result_and_cannot_be_forged_into_a_value():
    assert SYNTHETIC_OPEN not in mask(synthetic("x") + SYNTHETIC_CLOSE + SYNTHETIC_OPEN)
    assert show(f"{SYNTHETIC_CLOSE} +442079460958").count(SYNTHETIC_CLOSE) == 1  # a value cannot end its own span
    assert mask(show(f"{SYNTHETIC_CLOSE} +442079460958")) == '" +442079460958"'
    cut = show("+442079460958")[:-1]  # a check that truncates evidence mid-value keeps the value readable
    assert mask(cut + " tail") == '"+442079460958" tail'
    assert mask_secrets(synthetic("password=hunter22 +442079460958")) == "password=*** +442079460958"


def test_field_diff_lines_are_synthetic():
    lines = field_diff({"email": "ops@acme.example"}, {"email": "OPS@acme.example"})
    assert mask(lines[0]) == 'email: expected "ops@acme.example", got "OPS@acme.example"'


def test_results_carry_no_marker_characters():
    lab = catalog.get_lab("map-customer")
    for folder in [catalog.reference(lab).parent / "flawed" / name for name in ("naive-phone", "ignores-timezone")]:
        blob = to_json(engine.grade(lab, folder))
        assert SYNTHETIC_OPEN not in blob and SYNTHETIC_CLOSE not in blob
        assert SYNTHETIC_OPEN not in json.loads(blob)["checks"][0]["reason"]
