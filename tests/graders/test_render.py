"""Every renderer's output is valid for its consumer, and renderers agree with the model."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from graders import catalog, engine, paths
from graders.render import to_gradescope, to_json, to_junit, to_text
from graders.results import Status

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def results():
    lab = catalog.get_lab("map-customer")
    out = [engine.grade(lab, catalog.reference(lab), label="reference")]
    out += [engine.grade(lab, f.folder, label=f.name) for f in catalog.flaws(lab)[:3]]
    return out


def test_json_validates_against_the_result_schema(results):
    schema = json.loads((paths.SCHEMAS / "result.schema.json").read_text())
    for result in results:
        doc = json.loads(to_json(result))
        jsonschema.validate(doc, schema)
        assert doc["schema"] == "iclab/result/v1"
        assert doc["score"] == sum(c["points"] for c in doc["checks"])


def test_junit_validates_against_the_junit_schema(results):
    schema = etree.XMLSchema(etree.parse(str(DATA / "junit.xsd")))
    for result in results:
        doc = etree.fromstring(to_junit(result).encode())
        assert schema.validate(doc), schema.error_log
        suite = doc.find("testsuite")
        assert int(suite.get("failures")) == sum(c.status is Status.FAILED for c in result.checks)
        assert len(suite.findall("testcase")) == len(result.checks)


def test_gradescope_results_follow_the_spec(results):
    schema = json.loads((DATA / "gradescope.schema.json").read_text())
    for result in results:
        doc = json.loads(to_gradescope(result))
        jsonschema.validate(doc, schema)
        assert doc["score"] == result.score
        assert sum(t["max_score"] for t in doc["tests"]) == result.max_score
        failed = [t for t in doc["tests"] if t.get("status") == "failed"]
        assert len(failed) == len(result.failed())


def test_text_names_each_failed_check_with_its_reason(results):
    flawed = next(r for r in results if r.score < r.max_score)
    text = to_text(flawed)
    for check in flawed.failed():
        assert check.id in text and check.reason in text
    assert "\x1b[" not in text
    assert "\x1b[" in to_text(flawed, color=True)
    assert f"score: {flawed.score:g}/{flawed.max_score:g}" in text


def test_evidence_and_reasons_are_masked(results):
    for result in results:
        blob = to_json(result)
        assert "@pinecrest.example" not in blob or "***@" in blob
        for check in result.checks:
            assert "Bearer " not in check.evidence or "Bearer ***" in check.evidence


def test_the_result_schema_knows_every_scorecard_dimension():
    import json as _json
    from pathlib import Path as _Path

    from graders.results import Dimension as _Dimension

    schema = _json.loads((_Path(__file__).resolve().parents[2] / "graders/schemas/result.schema.json").read_text())
    listed = schema["properties"]["checks"]["items"]["properties"]["dimension"]["enum"]
    assert set(listed) == {d.value for d in _Dimension}
