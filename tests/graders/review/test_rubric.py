"""Rubric items: declared in lab.toml, proven by verify, answers read from untrusted folders, never needed to grade."""
from __future__ import annotations

import dataclasses
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from graders import catalog, engine, packing, workspace
from graders.errors import ManifestError
from graders.manifest import load_lab
from graders.review.rubric import MAX_ANSWER_CHARS, capture, capture_all, markdown_section
from graders.verify import rubric_proof

MAP = "map-customer"
TRIAGE = "log-triage"


def _lab(lab_id: str):
    return catalog.get_lab(lab_id)


def _item(lab_id: str, item_id: str):
    return next(i for i in _lab(lab_id).rubric if i.id == item_id)


# --------------------------------------------------------------------------- declared in lab.toml


def test_exercise_a_and_b_declare_their_written_questions():
    a = {i.id: i for i in _lab(MAP).rubric}
    b = {i.id: i for i in _lab(TRIAGE).rubric}
    assert set(a) == {"idempotent-creates", "logging"} and set(b) == {"escalation", "evidence-handover"}
    assert a["idempotent-creates"].dimension.value == "Integration fundamentals"
    assert a["logging"].dimension.value == "Security awareness"
    assert b["escalation"].dimension.value == "Collaboration" and b["evidence-handover"].dimension.value == "Communication"
    for item in [*a.values(), *b.values()]:
        assert len(item.levels) == 5 and all(item.levels) and item.points == 10
    assert a["idempotent-creates"].where == 'answers.md, section "Idempotent creates"'
    assert b["escalation"].fields == ("INC-*.escalation",)


def test_the_tickets_state_them_as_numbered_criteria():
    for lab_id in (MAP, TRIAGE):
        lab = _lab(lab_id)
        readme = lab.readme.read_text(encoding="utf-8")
        for item in lab.rubric:
            assert f"\n{item.criterion}. *(Scored by a person.)*" in readme, (lab_id, item.id)
        # The levels are in the ticket too, with what a level is worth: a learner knows what a 4 takes.
        assert "10 points × level / 4" in readme
        for level in range(5):
            assert f"\n| {level} | " in readme, (lab_id, level)


def _write_lab(tmp_path: Path, rubric_toml: str) -> Path:
    folder = tmp_path / "labs" / MAP
    shutil.copytree(_lab(MAP).folder, folder)
    text = (folder / "lab.toml").read_text(encoding="utf-8").split("\n[[rubric]]", 1)[0]
    (folder / "lab.toml").write_text(text + rubric_toml, encoding="utf-8")
    return folder


GOOD = '''
[[rubric]]
id = "one"
title = "One question"
criterion = 11
prompt = "Explain the thing in this case."
answer = { file = "answers.md", section = "Idempotent creates" }
points = 5
dimension = "Communication"
levels = { 0 = "none at all", 1 = "vague words", 2 = "names it", 3 = "fits it here", 4 = "with evidence" }
'''


def test_a_manifest_rubric_is_validated(tmp_path):
    lab = load_lab(_write_lab(tmp_path, GOOD))
    assert [(i.id, i.points, i.levels[2]) for i in lab.rubric] == [("one", 5.0, "names it")]
    bad = {
        "a level missing": GOOD.replace(' 4 = "with evidence" ', ""),
        "section and fields": GOOD.replace('section = "Idempotent creates"', 'section = "x", fields = ["a.b"]'),
        "neither": GOOD.replace(', section = "Idempotent creates"', ""),
        "no points": GOOD.replace("points = 5", "points = 0"),
        "unknown dimension": GOOD.replace('"Communication"', '"Charisma"'),
        "a level 5": GOOD.replace("4 = ", '5 = "too far", 4 = '),
    }
    for what, text in bad.items():
        with pytest.raises(ManifestError, match="rubric"):
            load_lab(_write_lab(tmp_path / what.replace(" ", "-"), text))


# --------------------------------------------------------------------------- verify proves the rubric


def test_verify_proves_both_labs_rubrics():
    for lab_id in (MAP, TRIAGE):
        lab = _lab(lab_id)
        proof = rubric_proof(lab, catalog.grader_for(lab))
        assert proof.ok, proof.detail
        assert "2 rubric items" in proof.detail


def test_a_lab_without_rubric_items_is_fine():
    lab = _lab("csv-batch")
    assert lab.rubric == () and rubric_proof(lab, catalog.grader_for(lab)).ok


@pytest.fixture
def lab_copy(tmp_path):
    """map-customer's lab folder, copied: each test breaks one thing in it."""
    lab = _lab(MAP)
    folder = tmp_path / MAP
    shutil.copytree(lab.folder, folder)
    return dataclasses.replace(lab, folder=folder)


def _proof(lab, **changes):
    items = tuple(dataclasses.replace(i, **changes) if i.id == "logging" else i for i in lab.rubric)
    lab = dataclasses.replace(lab, rubric=items)
    return rubric_proof(lab, catalog.grader_for(lab))


def test_verify_refuses_a_rubric_whose_answer_place_is_not_in_the_starter(lab_copy):
    answers = lab_copy.starter / "answers.md"
    answers.write_text(answers.read_text().replace("## What to log and what not", "## Logging"), encoding="utf-8")
    proof = _proof(lab_copy)
    assert not proof.ok and 'no section "What to log and what not"' in proof.detail
    answers.unlink()
    assert "the starter has no answers.md" in _proof(lab_copy).detail


def test_verify_refuses_a_template_that_would_count_as_an_answer(lab_copy):
    answers = lab_copy.starter / "answers.md"
    answers.write_text(answers.read_text() + "\nI would log everything.\n", encoding="utf-8")
    assert "is not blank" in _proof(lab_copy).detail


def test_verify_refuses_ill_formed_levels_and_criteria(lab_copy):
    same = ("fine", "fine", "good", "better", "best")
    assert "same descriptor" in _proof(lab_copy, levels=same).detail
    assert "not numbered" in _proof(lab_copy, criterion=40).detail
    assert "also judged by a check" in _proof(lab_copy, criterion=3).detail
    assert "names no acceptance criterion" in _proof(lab_copy, criterion=None).detail
    assert "does not say where to answer" in _proof(lab_copy, file="notes.md").detail


def test_verify_refuses_a_toml_field_the_starter_lacks():
    lab = _lab(TRIAGE)
    items = tuple(dataclasses.replace(i, fields=("INC-*.escalate",)) if i.id == "escalation" else i for i in lab.rubric)
    proof = rubric_proof(dataclasses.replace(lab, rubric=items), catalog.grader_for(lab))
    assert not proof.ok and "no text field INC-*.escalate" in proof.detail


# --------------------------------------------------------------------------- reading answers


def test_a_markdown_section_runs_to_the_next_heading_of_its_level():
    text = ("# Answers\n\n## idempotent  CREATES ##\nkey: CRM-<id>\n### detail\nsub-part stays\n```\n## not a heading\n```\n"
            "## What to log and what not\nids\n")
    body = markdown_section(text, "Idempotent creates")
    assert body is not None
    assert "key: CRM-<id>" in body and "sub-part stays" in body and "## not a heading" in body and "ids" not in body
    assert markdown_section(text, "Missing") is None
    assert markdown_section(text, "What to log and what not").strip() == "ids"


def test_an_answer_is_read_masked_and_the_template_comment_is_not_an_answer(tmp_path):
    item = _item(MAP, "idempotent-creates")
    shutil.copyfile(_lab(MAP).starter / "answers.md", tmp_path / "answers.md")
    assert not capture(item, tmp_path).answered
    text = (tmp_path / "answers.md").read_text().replace(
        "## Idempotent creates\n", "## Idempotent creates\nUse Idempotency-Key CRM-<id>; never log client_secret=s3cr3tvalue.\n")
    (tmp_path / "answers.md").write_text(text, encoding="utf-8")
    found = capture(item, tmp_path)
    assert found.answered and "Idempotency-Key CRM-<id>" in found.text
    assert "s3cr3tvalue" not in found.text and "<!--" not in found.text
    assert not capture(_item(MAP, "logging"), tmp_path).answered  # the other section is still the template


def test_no_answer_file_or_no_section_is_unanswered_with_a_reason(tmp_path):
    item = _item(MAP, "logging")
    assert capture(item, tmp_path).note == "the submission has no answers.md"
    (tmp_path / "answers.md").write_text("## Something else\ntext\n", encoding="utf-8")
    assert capture(item, tmp_path).note == 'answers.md has no section "What to log and what not"'


def test_hostile_answer_files_are_never_followed_nor_waited_on(tmp_path):
    item = _item(MAP, "logging")
    secret = tmp_path / "outside.md"
    secret.write_text("## What to log and what not\nthe grading machine's file\n", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "answers.md").symlink_to(secret)
    found = capture(item, sub)
    assert not found.answered and "link" in found.note
    (sub / "answers.md").unlink()
    os.mkfifo(sub / "answers.md")
    result = []
    reader = threading.Thread(target=lambda: result.append(capture(item, sub)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert result and not result[0].answered and "not a regular file" in result[0].note
    (sub / "answers.md").unlink()
    (sub / "answers.md").write_text("## What to log and what not\n" + "x" * (MAX_ANSWER_CHARS * 3), encoding="utf-8")
    found = capture(item, sub)
    assert found.answered and len(found.text) == MAX_ANSWER_CHARS and "cut" in found.note
    (sub / "answers.md").write_bytes(b"## What to log and what not\n\xff\xfe ids \x00\n")
    assert capture(item, sub).answered  # bad bytes become U+FFFD, never an exception


def test_toml_fields_are_gathered_per_incident_in_document_order(tmp_path):
    item = _item(TRIAGE, "evidence-handover")
    (tmp_path / "findings.toml").write_text(
        '[INC-2]\nnext_step = "second"\nreplay_why = "why 2"\n[INC-1]\nreplay_why = "why 1"\nnext_step = 3\n',
        encoding="utf-8")
    found = capture(item, tmp_path)
    assert found.text == "[INC-2.next_step]\nsecond\n\n[INC-2.replay_why]\nwhy 2\n\n[INC-1.replay_why]\nwhy 1"
    (tmp_path / "findings.toml").write_text("[INC-1\n", encoding="utf-8")
    assert "not valid TOML" in capture(item, tmp_path).note
    starter = capture(_item(TRIAGE, "escalation"), _lab(TRIAGE).starter)
    assert not starter.answered and "left blank" in starter.note


def test_capture_all_journals_each_item_with_its_answer(tmp_path):
    lab = _lab(MAP)
    docs = capture_all(lab.rubric, tmp_path)
    assert [d["id"] for d in docs] == ["idempotent-creates", "logging"]
    assert all(d["answer"]["answered"] is False for d in docs) and docs[0]["levels"][0].startswith("Not addressed")
    refused = capture_all(lab.rubric, None)
    assert refused[0]["answer"]["note"] == "the submission was refused"


# --------------------------------------------------------------------------- never needed to grade; carried by submit


def test_grading_needs_no_answer_file_and_ignores_one(tmp_path, reference_copy, map_lab):
    without = engine.grade(map_lab, reference_copy)
    (reference_copy / "answers.md").write_text("## Idempotent creates\n<script>alert(1)</script>\n", encoding="utf-8")
    with_answers = engine.grade(map_lab, reference_copy)
    assert without.score == with_answers.score == 100 and not without.problems and not with_answers.problems


def test_log_triage_grades_the_same_with_escalations_and_catches_a_secret_in_them(tmp_path):
    lab = _lab(TRIAGE)
    folder = tmp_path / "ref"
    shutil.copytree(catalog.reference(lab), folder)
    text = (folder / "findings.toml").read_text(encoding="utf-8")
    (folder / "findings.toml").write_text(text.replace(
        "\n[INC-2]", '\nescalation = "ERP team, now: tax code missing for CRM-10482"\n\n[INC-2]', 1), encoding="utf-8")
    result = engine.grade(lab, folder)
    assert result.score == 100, [c.reason for c in result.failed()]
    assert capture(_item(TRIAGE, "escalation"), folder).text == "[INC-1.escalation]\nERP team, now: tax code missing for CRM-10482"
    # Criterion 13 covers the new prose too: a credential pasted into an escalation is a leak.
    leaked = (folder / "findings.toml").read_text(encoding="utf-8").replace(
        "tax code missing", "client_secret=Zk8qT3vLw9RmX2pA")
    (folder / "findings.toml").write_text(leaked, encoding="utf-8")
    assert [c.id for c in engine.grade(lab, folder).failed()] == ["findings-no-secrets"]


def test_start_gives_the_template_and_submit_carries_the_answers(tmp_path):
    lab = _lab(MAP)
    ws = tmp_path / "ws"
    workspace.assemble(lab, ws, catalog.reference(lab))
    (ws / workspace.MARKER).write_text(f'lab = "{MAP}"\n', encoding="utf-8")
    assert (ws / "answers.md").read_text() == (lab.starter / "answers.md").read_text()
    summary = packing.pack(ws, tmp_path / "with.zip")
    assert f"{MAP}/answers.md" in summary.files and f"{MAP}/answers.md" in summary.unchanged
    (ws / "answers.md").unlink()
    summary = packing.pack(ws, tmp_path / "without.zip")  # not required: the submission packs without it
    assert f"{MAP}/answers.md" not in summary.files and f"{MAP}/mapper.py" in summary.files


def test_the_take_home_bundle_carries_the_templates(tmp_path):
    from graders.bundle import export

    summary = export([MAP, TRIAGE], tmp_path / "bundle.zip")
    names = set(summary.files)
    assert any(n.endswith(f"{MAP}/answers.md") for n in names), sorted(names)[:20]
    with zipfile.ZipFile(summary.out) as zf:
        findings = next(n for n in zf.namelist() if n.endswith(f"{TRIAGE}/findings.toml"))
        assert 'escalation = ""' in zf.read(findings).decode("utf-8")
