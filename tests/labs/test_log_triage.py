"""log-triage's grader: the hidden bundles agree with the contract, the answer key with the fixture, and findings are judged fairly."""
from __future__ import annotations

import importlib.util
import random
import re
import shutil
import sys
import tomllib

import pytest

from graders import catalog, engine
from graders.labs import log_triage as lt
from graders.labs.log_triage import bundles, findings
from graders.results import Status
from graders.sandbox import CallRecord, CallStatus

ROOT = catalog.paths.ROOT
VISIBLE = ROOT / "fixtures/log-triage/bundle"
REFERENCE = ROOT / "solutions/log-triage/reference"


@pytest.fixture(scope="module")
def triage():
    """The reference triage.py, imported in-process (trusted code)."""
    spec = importlib.util.spec_from_file_location("log_triage_reference", REFERENCE / "triage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hidden():
    return lt.grader.data()


def _findings_call(text: str) -> CallRecord:
    return CallRecord("_iclab_log_triage:read_findings", (), {}, CallStatus.RETURNED, value=text)


def _reference_doc() -> dict:
    return tomllib.loads((REFERENCE / "findings.toml").read_text(encoding="utf-8"))


def _dump(doc: dict) -> str:
    """A findings document back to TOML (strings, bools and evidence tables only)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join("{ " + ", ".join(f"{k} = {value(x)}" for k, x in e.items()) + " }" for e in v) + "]"
        return str(v)
    return "\n".join(f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items()) for name, table in doc.items())


# -- the answer key matches the visible bundle ---------------------------------
def test_every_key_line_is_a_record_of_the_visible_bundle(triage):
    for incident, answer in findings.KEY.items():
        assert answer.category in findings.CATEGORIES
        for _, lines in answer.evidence:
            for cid, ts in lines:
                stamps = [r["ts"] for r in triage.timeline(str(VISIBLE), cid)]
                assert ts in stamps, f"{incident}: no line of {cid} at {ts}"


def test_key_covers_the_incidents_of_the_starter_and_the_symptoms():
    starter = tomllib.loads((ROOT / "labs/log-triage/starter/findings.toml").read_text(encoding="utf-8"))
    symptoms = (ROOT / "fixtures/log-triage/symptoms.md").read_text(encoding="utf-8")
    assert list(starter) == list(findings.KEY)
    assert re.findall(r"^\| (INC-\d) ", symptoms, flags=re.M) == list(findings.KEY)


def test_every_visible_secret_is_listed(triage):
    text = "\n".join(p.read_text(encoding="utf-8") for p in VISIBLE.iterdir())
    for value in re.findall(r"client_secret=([^&\s\"]+)|(?:Bearer|Basic) ([A-Za-z0-9._~+/=-]+)", text):
        raw = value[0] or value[1]
        assert any(secret in raw for secret in findings.SECRETS), raw


# -- the hidden bundles agree with the contract --------------------------------
def test_reference_parses_every_hidden_line_as_the_generator_says(triage, hidden):
    for bundle in hidden.bundles:
        for line in bundle.lines:
            assert triage.parse_line(line.text, line.source) == line.expected, bundle.label(line)


def test_reference_timelines_match_the_expected_sources(triage, hidden, tmp_path):
    for rel, data in bundles.hidden_files(hidden).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    assert not (tmp_path / "hidden/bundle-b/erp.log").exists()
    assert b"\r\n" in (tmp_path / "hidden/bundle-b/gateway.log").read_bytes()
    for folder, cid, sources in hidden.timelines:
        got = triage.timeline(str(tmp_path / folder), cid)
        assert tuple(r["source"] for r in got) == sources, (folder, cid)
    assert sum(1 for _, _, s in hidden.timelines if len(set(s)) == 3) >= 1, "one timeline must span all three files"


def test_hidden_data_is_deterministic_and_unlike_the_visible_bundle(hidden):
    again = bundles.make_hidden(random.Random(lt.grader.seed))
    assert again == hidden
    visible = "\n".join(p.read_text(encoding="utf-8") for p in VISIBLE.iterdir())
    hidden_text = "\n".join(line.text for b in hidden.bundles for line in b.lines)
    for cid in set(re.findall(r"c-[0-9a-f]{8}", visible)):
        assert cid not in hidden_text
    for offset in ("+0100]", "-0600 erp"):  # the visible clocks
        assert offset not in hidden_text
    assert not any(secret in hidden_text for secret in findings.SECRETS)


def test_local_times_taken_for_utc_reorder_every_multi_source_timeline(hidden, tmp_path):
    # Without this, the timeline check could not catch a parser that drops the offsets.
    spec = importlib.util.spec_from_file_location(
        "log_triage_naive", ROOT / "solutions/log-triage/flawed/naive-local-time/triage.py")
    naive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(naive)
    for rel, data in bundles.hidden_files(hidden).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    mixed = [(f, c, s) for f, c, s in hidden.timelines if len(set(s)) > 1]
    assert len(mixed) >= 4
    for folder, cid, sources in mixed:
        got = tuple(r["source"] for r in naive.timeline(str(tmp_path / folder), cid))
        assert got != sources, (folder, cid)


def test_expected_messages_hold_no_secret_and_show_the_mask(hidden):
    carrying = [line for b in hidden.bundles for line in b.lines if line.secret]
    assert len(carrying) >= 6
    for line in carrying:
        assert line.secret in line.text
        assert line.secret not in line.expected["message"] and "***" in line.expected["message"]


# -- findings are judged fairly -------------------------------------------------
JUDGES = (findings.category, findings.evidence, findings.next_step, findings.mitigation, findings.replay,
          findings.no_secrets)


def test_reference_findings_earn_every_point():
    call = _findings_call((REFERENCE / "findings.toml").read_text(encoding="utf-8"))
    for judge in JUDGES:
        outcome = judge(call)
        assert outcome.status is Status.PASSED, (judge.__name__, outcome.reason, outcome.evidence)


def test_invalid_toml_fails_each_field_with_the_parser_message():
    call = _findings_call('[INC-1]\ncategory = "timeout\n')
    for judge in JUDGES:
        outcome = judge(call)
        assert outcome.status is Status.FAILED and "not valid TOML" in outcome.reason, judge.__name__


@pytest.mark.parametrize("ts, credit", [
    ('"2024-11-05T07:15:02.703Z"', 1.0),
    ('"2024-11-05T07:15:02Z"', 1.0),                 # no milliseconds: the line's second
    ("2024-11-05T08:15:02.703+01:00", 1.0),          # a TOML datetime with an offset
    ('"2024-11-05T08:15:02.703"', 0.4),              # Berlin wall-clock time taken for UTC
    ('"2024-11-05T07:15:03.000Z"', 0.4),             # a second off
])
def test_evidence_timestamps_are_compared_as_instants(ts, credit):
    doc = f'[INC-1]\nevidence = [{{ correlation_id = "c-4b9d07a3", ts = {ts} }}]\n'
    outcome = findings.evidence(_findings_call(doc))
    assert outcome.fraction == pytest.approx(credit / len(findings.KEY))


def test_an_incident_with_two_transactions_needs_both_cited():
    doc = _reference_doc()
    doc["INC-5"]["evidence"] = [e for e in doc["INC-5"]["evidence"] if e["correlation_id"] in ("c-0a6f3e91", "c-7e12c5d8")]
    outcome = findings.evidence(_findings_call(_dump(doc)))
    assert outcome.fraction == pytest.approx((6 + 0.5) / 7)
    assert "INC-5" in outcome.evidence and "the replay" in outcome.evidence


def test_other_words_for_the_same_ideas_count():
    doc = _reference_doc()
    doc["INC-1"].update(next_step="Raise it with ERP support and send them the stack trace.",
                        mitigation="Vendor patches PricingService; reprocess the message afterwards.")
    doc["INC-3"].update(next_step="Search the ERP for order_ref CRM-10487 to see if it was created.",
                        mitigation="Use an upsert keyed on the external id.")
    doc["INC-4"].update(next_step="Find out which quota the gateway enforces on writes.",
                        mitigation="Exponential back-off on 429s.")
    doc["INC-7"].update(next_step="Ask whether the API key / credential was rotated.",
                        mitigation="Put the new credential in Key Vault and resend the polls.")
    call = _findings_call(_dump(doc))
    assert findings.next_step(call).status is Status.PASSED
    assert findings.mitigation(call).status is Status.PASSED


def test_a_right_verdict_without_a_reason_earns_most_of_the_incident():
    doc = _reference_doc()
    doc["INC-3"]["replay_why"] = "see above"
    outcome = findings.replay(_findings_call(_dump(doc)))
    assert outcome.fraction == pytest.approx((6 + 0.7) / 7)
    assert "INC-3: replay_safe is right, but replay_why" in outcome.evidence


def test_a_wrong_category_gets_a_clue_not_the_answer():
    doc = _reference_doc()
    doc["INC-3"]["category"] = "target_server_error"
    outcome = findings.category(_findings_call(_dump(doc)))
    assert outcome.fraction == pytest.approx(6 / 7)
    assert "INC-3: not target_server_error" in outcome.evidence and "timeout" not in outcome.evidence


def test_secrets_are_found_wherever_they_are_pasted():
    text = (REFERENCE / "findings.toml").read_text(encoding="utf-8")
    for secret in findings.SECRETS:
        leaked = text.replace('note = "401 on the token request"', f'note = "Bearer eyJ.{secret}"')
        assert findings.no_secrets(_findings_call(leaked)).status is Status.FAILED


def test_read_findings_helper_reads_text_and_refuses_huge_files(tmp_path, monkeypatch):
    runtime = ROOT / "graders/sandbox/runtime"
    monkeypatch.syspath_prepend(str(runtime))
    sys.modules.pop("_iclab_log_triage", None)
    import _iclab_log_triage as helper

    monkeypatch.setenv("ICLAB_WORK", str(tmp_path))
    (tmp_path / "findings.toml").write_text('[INC-1]\ncategory = "timeout"\n', encoding="utf-8")
    assert helper.read_findings() == '[INC-1]\ncategory = "timeout"\n'
    (tmp_path / "findings.toml").write_bytes(b"#" * (helper.MAX_BYTES + 1))
    with pytest.raises(ValueError):
        helper.read_findings()


# -- one mistake, one check ------------------------------------------------------
def test_a_timeline_that_needs_every_file_loses_only_the_bundle_without_erp_log(tmp_path):
    lab = catalog.get_lab("log-triage")
    submission = tmp_path / "submission"
    shutil.copytree(REFERENCE, submission)
    path = submission / "triage.py"
    source = path.read_text(encoding="utf-8")
    patched = source.replace("        if not path.is_file():\n            continue  # a system that sent no log contributes nothing\n", "")
    assert patched != source
    path.write_text(patched, encoding="utf-8")
    result = engine.grade(lab, submission)
    lost = {c.id: c for c in result.checks if c.points < c.max_points}
    assert set(lost) == {"timeline"}
    assert "bundle-b has no erp.log" in lost["timeline"].reason
    assert lost["timeline"].points == pytest.approx(8 * 5 / 6, abs=0.01)
