"""log-triage's grader: the hidden bundles agree with the contract, the answer key with the fixture, and findings are judged fairly."""
from __future__ import annotations

import importlib.util
import os
import random
import re
import shutil
import sys
import time
import tomllib
from datetime import datetime

import pytest

from graders import catalog, engine, paths
from graders.labs import log_triage as lt
from graders.labs.log_triage import findings, hidden as hidden_data, render
from graders.results import Status
from graders.sandbox import CallRecord, CallStatus

ROOT = paths.ROOT
VISIBLE = ROOT / "fixtures/log-triage/bundle"
REFERENCE = ROOT / "solutions/log-triage/reference"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def triage():
    """The reference triage.py, imported in-process (trusted code)."""
    return _load(REFERENCE / "triage.py", "log_triage_reference")


@pytest.fixture(scope="module")
def hidden():
    return lt.grader.data()


@pytest.fixture(scope="module")
def written(hidden, tmp_path_factory):
    """The hidden bundles' files, as the sandbox gets them."""
    folder = tmp_path_factory.mktemp("hidden")
    for rel, data in hidden_data.hidden_files(hidden).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


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


def _ms(ts: str) -> int:
    return round(datetime.fromisoformat(ts).timestamp() * 1000)


# -- the answer key matches the visible bundle ---------------------------------
def test_key_lines_are_every_line_of_each_incidents_transactions(triage):
    for incident, answer in findings.KEY.items():
        assert answer.category in findings.CATEGORIES and answer.next_step_kind in findings.NEXT_STEP_KINDS
        cids = {cid for cid, _, _ in answer.lines}
        records = [r for cid in sorted(cids) for r in triage.timeline(str(VISIBLE), cid)]
        assert {(r["correlation_id"], _ms(r["ts"]), r["source"]) for r in records} == answer.lines, incident
        # The ticket's rule picks the key lines: WARN/ERROR, an erp.log 201, the request of a replay.
        rule = {(r["correlation_id"], _ms(r["ts"]), r["source"]) for r in records
                if r["level"] in ("WARN", "ERROR") or (r["source"] == "erp" and r["status"] == 201)
                or r["message"].startswith("manual replay requested")}
        assert rule == answer.key, incident


def test_reference_cites_exactly_the_key_lines():
    # Every citation of the reference is a key line, so each dropped citation is a lost incident.
    doc = _reference_doc()
    for incident, answer in findings.KEY.items():
        cited = {findings._citation(e)[0] for e in doc[incident]["evidence"]}
        assert cited == answer.key, incident


def test_key_covers_the_incidents_of_the_starter_and_the_symptoms():
    starter = tomllib.loads((ROOT / "labs/log-triage/starter/findings.toml").read_text(encoding="utf-8"))
    symptoms = (ROOT / "fixtures/log-triage/symptoms.md").read_text(encoding="utf-8")
    readme = (ROOT / "labs/log-triage/README.md").read_text(encoding="utf-8")
    assert list(starter) == list(findings.KEY)
    assert re.findall(r"^\| (INC-\d) ", symptoms, flags=re.M) == list(findings.KEY)
    for name in findings.CATEGORIES + findings.NEXT_STEP_KINDS:
        assert f"| `{name}` |" in readme, name


def test_every_visible_secret_is_listed(triage):
    text = "\n".join(p.read_text(encoding="utf-8") for p in VISIBLE.iterdir())
    for value in re.findall(r"client_secret=([^&\s\"]+)|(?:Bearer|Basic) ([A-Za-z0-9._~+/=-]+)", text):
        raw = value[0] or value[1]
        assert any(secret in raw for secret in findings.SECRETS), raw


# -- the hidden bundles agree with the contract --------------------------------
def test_reference_parses_every_hidden_line_as_the_generator_says(triage, hidden):
    for bundle in hidden.bundles + (hidden.samples,):
        for line in bundle.lines:
            assert triage.parse_line(line.text, line.source) == line.expected, bundle.label(line)
    for text, source in hidden.unknown_sources:
        with pytest.raises(ValueError):
            triage.parse_line(text, source)


def test_reference_timelines_match_and_files_are_as_described(triage, hidden, written):
    assert not (written / "hidden/bundle-b/erp.log").exists()
    assert not (written / "hidden/bundle-c/gateway.log").exists()
    assert b"\r\n" in (written / "hidden/bundle-b/gateway.log").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        (written / "hidden/bundle-c/runtime.log").read_bytes().decode("utf-8")
    for folder, cid, want in hidden.timelines:
        assert triage.timeline(str(written / folder), cid) == list(want), (folder, cid)


def test_timeline_cases_cover_ties_prefixes_and_missing_files(hidden):
    cases = hidden.timelines
    tied = [w for _, _, w in cases if len({r["ts"] for r in w}) < len(w) and len({r["source"] for r in w}) == 3]
    assert tied, "a timeline with equal timestamps across all three files"
    assert any(len([r for r in w if r["source"] == "runtime" and r["ts"] == w[0]["ts"]]) >= 2 for w in [t for t in tied])
    cids = [cid for _, cid, _ in cases]
    assert any(a != b and b.startswith(a) for a in cids for b in cids), "one correlation ID starts with another"
    assert {f for f, _, w in cases if w} >= {"hidden/bundle-a", "hidden/bundle-b", "hidden/bundle-c"}
    assert any(not w for _, _, w in cases), "an unknown ID"
    assert any("\ufffd" in r["message"] for _, _, w in cases for r in w), "a record read across a byte that is not UTF-8"


def test_hidden_data_is_deterministic_and_unlike_the_visible_bundle(hidden):
    again = hidden_data.make_hidden(random.Random(lt.grader.seed))
    assert again == hidden
    visible = "\n".join(p.read_text(encoding="utf-8") for p in VISIBLE.iterdir())
    hidden_text = "\n".join(line.text for b in hidden.bundles + (hidden.samples,) for line in b.lines)
    for cid in set(re.findall(r"c-[0-9a-f]{8}", visible)):
        assert cid not in hidden_text
    for offset in ("+0100]", "-0600 erp"):  # the visible clocks
        assert offset not in hidden_text
    assert not any(secret in hidden_text for secret in findings.SECRETS)


def test_hidden_lines_cover_every_month_status_class_and_offset(hidden):
    lines = [line for b in hidden.bundles + (hidden.samples,) for line in b.lines]
    gateway = [line.text for line in lines if line.source == "gateway" and line.expected]
    assert {m for m in render.MONTHS if any(f"/{m}/" in text for text in gateway)} == set(render.MONTHS)
    statuses = {line.expected["status"] for line in lines if line.source == "gateway" and line.expected}
    assert {399 < s < 500 for s in statuses} == {True, False} and {400, 499, 500} <= statuses
    offsets = set(re.findall(r"[+-](?:0[0-9]|1[0-4]):?(?:00|30|45)(?=[\]\" ])", "\n".join(line.text for line in lines)))
    assert any(o.startswith("-") and o.endswith("30") for o in offsets) and any(o.endswith("45") for o in offsets)


def test_expected_messages_hold_no_secret_and_show_the_mask(hidden):
    carrying = [line for b in hidden.bundles + (hidden.samples,) for line in b.lines if line.secrets]
    assert len(carrying) >= 10
    assert sum(1 for line in carrying if len(line.secrets) >= 2) >= 4, "several secrets in one line"
    for line in carrying:
        for secret in line.secrets:
            assert secret in line.text and secret not in line.expected["message"]
        assert "***" in line.expected["message"]
    ends = "".join(line.text.split(secret, 1)[1][:1] for line in carrying for secret in line.secrets)
    for terminator in '&" ,;}':
        assert terminator in ends, f"a secret ended by {terminator!r}"


# -- findings are judged fairly -------------------------------------------------
JUDGES = (findings.category, findings.evidence, findings.next_step_kind, findings.replay, findings.no_secrets)


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


def _with_evidence(incident: str, entries: list) -> str:
    doc = _reference_doc()
    doc[incident]["evidence"] = entries
    return _dump(doc)


@pytest.mark.parametrize("ts, right", [
    ('"2024-11-05T07:15:02.703Z"', True),
    ("2024-11-05T08:15:02.703+01:00", True),          # a TOML datetime with an offset: the same instant
    ("2024-11-05T07:15:02.703Z", True),               # a TOML datetime in UTC
    ('"2024-11-05T07:15:02Z"', False),                # no milliseconds: another instant
    ('"2024-11-05T08:15:02.703"', False),             # Berlin wall-clock time taken for UTC
    ('"2024-11-05T07:15:03.703Z"', False),            # a second off
])
def test_evidence_timestamps_are_compared_as_instants_to_the_millisecond(ts, right):
    text = (REFERENCE / "findings.toml").read_text(encoding="utf-8").replace(
        'ts = "2024-11-05T07:15:02.703Z"', f"ts = {ts}", 1)
    outcome = findings.evidence(_findings_call(text))
    assert (outcome.status is Status.PASSED) is right, outcome.evidence


def test_evidence_is_judged_as_a_set_per_incident():
    key = _reference_doc()["INC-5"]["evidence"]
    context = {"correlation_id": "c-5f8d2c64", "ts": "2024-11-05T08:20:12.210Z", "source": "runtime", "note": "link"}
    assert findings.evidence(_findings_call(_with_evidence("INC-5", key + [context]))).status is Status.PASSED
    cases = {
        "a key line left out": key[:-1],
        "a line of another incident": key + [{"correlation_id": "c-4b9d07a3", "ts": "2024-11-05T07:15:02.703Z",
                                              "source": "erp"}],
        "the wrong source": key[:-1] + [dict(key[-1], source="runtime")],
        "a correlation ID one character off": key[:-1] + [dict(key[-1], correlation_id="c-0e97b3a6")],
        "a citation without a correlation ID": key + [{"ts": "2024-11-05T08:20:12.210Z", "source": "runtime"}],
    }
    for what, entries in cases.items():
        outcome = findings.evidence(_findings_call(_with_evidence("INC-5", entries)))
        assert outcome.fraction == pytest.approx(6 / 7), what
        assert outcome.evidence.startswith("INC-5:"), what


def test_the_next_step_is_judged_only_where_the_category_is_right():
    doc = _reference_doc()
    doc["INC-7"].update(category="target_server_error", next_step_kind="escalate_to_target_owner")
    call = _findings_call(_dump(doc))
    assert findings.category(call).fraction == pytest.approx(6 / 7)
    outcome = findings.next_step_kind(call)
    assert outcome.status is Status.PASSED and "see findings-category" in outcome.evidence
    doc["INC-7"]["category"] = "auth_credentials"
    outcome = findings.next_step_kind(_findings_call(_dump(doc)))
    assert outcome.fraction == pytest.approx(6 / 7) and "INC-7: not escalate_to_target_owner" in outcome.evidence


def test_prose_is_for_people_and_never_scored():
    doc = _reference_doc()
    for table in doc.values():
        table.update(next_step="Ring Dana.", mitigation="", replay_why="as discussed")
        for entry in table["evidence"]:
            entry["note"] = "x"
    call = _findings_call(_dump(doc))
    for judge in JUDGES:
        assert judge(call).status is Status.PASSED, judge.__name__


def test_replay_safe_must_be_a_boolean():
    text = (REFERENCE / "findings.toml").read_text(encoding="utf-8").replace("replay_safe = true", 'replay_safe = "true"', 1)
    outcome = findings.replay(_findings_call(text))
    assert outcome.fraction == pytest.approx(6 / 7) and "true or false" in outcome.evidence


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
        assert findings.no_secrets(_findings_call(text + f"\n# {secret}\n")).status is Status.FAILED


# -- the trusted helper -----------------------------------------------------------
@pytest.fixture()
def helper(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "graders/sandbox/runtime"))
    monkeypatch.setenv("ICLAB_WORK", str(tmp_path))
    sys.modules.pop("_iclab_log_triage", None)
    import _iclab_log_triage
    return _iclab_log_triage


def test_findings_are_read_by_the_grader_dropping_a_byte_order_mark_refusing_huge_non_utf8_or_linked(tmp_path):
    from types import SimpleNamespace

    probe = lt.grader.probes["findings"]
    run = SimpleNamespace(submission=tmp_path)
    (tmp_path / "findings.toml").write_text('[INC-1]\ncategory = "timeout"\n', encoding="utf-8")
    assert probe(run).value == '[INC-1]\ncategory = "timeout"\n'
    (tmp_path / "findings.toml").write_text('[INC-1]\ncategory = "timeout"\n', encoding="utf-8-sig")
    assert tomllib.loads(probe(run).value) == {"INC-1": {"category": "timeout"}}
    for data in (b"#" * (256 * 1024 + 1), b'[INC-1]\nnote = "M\xfcller"\n'):
        (tmp_path / "findings.toml").write_bytes(data)
        assert not probe(run).ok and probe(run).error.type == "ValueError"
    (tmp_path / "findings.toml").unlink()
    (tmp_path / "findings.toml").symlink_to(ROOT / "solutions/log-triage/reference/findings.toml")
    assert not probe(run).ok  # a link is never followed to what it points at


def test_helpers_for_unknown_sources_and_another_time_zone(helper, monkeypatch, tmp_path):
    (tmp_path / "triage.py").write_text(
        "import datetime\n"
        "def parse_line(line, source):\n"
        "    if source == 'x':\n        raise KeyError(source)\n"
        "    if source == 'y':\n        return None\n"
        "    if source == 'z':\n        raise type('Unknown', (ValueError,), {})(source)\n"
        "    return datetime.datetime(2025, 1, 1, 12, tzinfo=datetime.timezone.utc).astimezone().isoformat()\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("triage", None)
    assert [helper.unknown_source("", s) for s in "xyz"] == ["KeyError", "returned", "ValueError"]
    before = os.environ.get("TZ")
    assert helper.parse_in_zone("", "runtime", "<-0330>3:30") == "2025-01-01T08:30:00-03:30"
    assert os.environ.get("TZ") == before
    time.tzset()
    sys.modules.pop("triage", None)


# -- one mistake, one check ------------------------------------------------------
def _grade_patched(tmp_path, old: str, new: str):
    lab = catalog.get_lab("log-triage")
    submission = tmp_path / "submission"
    shutil.copytree(REFERENCE, submission)
    path = submission / "triage.py"
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new), encoding="utf-8")
    result = engine.grade(lab, submission)
    return {c.id: c for c in result.checks if c.points < c.max_points}


def test_a_timeline_that_needs_every_file_loses_only_the_bundles_without_one(tmp_path):
    lost = _grade_patched(tmp_path, "        if not path.is_file():\n"
                                    "            continue  # a system that sent no log contributes nothing\n", "")
    assert set(lost) == {"timeline"}
    wrong = sum(1 for folder, _, _ in lt.grader.data().timelines if folder in ("hidden/bundle-b", "hidden/bundle-c"))
    assert lost["timeline"].reason.startswith(f"{wrong} of {len(lt.grader.data().timelines)} timelines are wrong")


def test_the_timeline_is_judged_on_its_own_terms_when_only_parsing_is_wrong(tmp_path):
    # Offsets dropped in parse_line: the timeline orders the submission's own (wrong) records right,
    # so the mistake is charged to utc-timestamps alone, not again to the timeline built from them.
    lost = _grade_patched(tmp_path, "tzinfo=_offset(m.group(8), m.group(9), m.group(10))", "tzinfo=timezone.utc")
    assert set(lost) == {"utc-timestamps"}
    # A message parsed wrong (the ERP's quotes kept) is the ERP parse check's alone.
    lost = _grade_patched(tmp_path / "quotes", "value[1:-1] if value.startswith('\"') else value", "value")
    assert set(lost) == {"parse-erp"}


def test_a_timeline_that_raises_only_because_parse_line_does_is_not_charged_again(tmp_path):
    lab = catalog.get_lab("log-triage")
    result = engine.grade(lab, ROOT / "solutions/log-triage/flawed/crashes-on-junk")
    checks = {c.id: c for c in result.checks}
    assert checks["skips-non-records"].points == 0
    assert checks["timeline"].status is Status.PASSED
    assert "charged in skips-non-records" in checks["timeline"].reason
