"""Prove a lab before it ships: reference at full marks, flaws lose exactly their checks, and more.

Each proof is a small function returning ``Proof``; ``verify_lab`` runs them
all and never stops at the first failure, so an author sees every problem.
"""
from __future__ import annotations

import ast
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import catalog, engine
from .errors import IclabError
from .manifest import Lab
from .render.json_result import to_dict
from .results import LabResult, Status
from .visible_tests import run_visible_tests
from .workspace import assemble

__all__ = ["Proof", "LabProof", "verify_lab", "comparable", "rubric_proof"]

README_SECTIONS = ("## Business context", "## Acceptance criteria", "## Interface contract", "## How to run", "## Out of scope")


@dataclass(frozen=True)
class Proof:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class LabProof:
    lab: str
    proofs: tuple[Proof, ...]
    results: tuple[LabResult, ...]
    mutation: object | None = None  # a MutationReport, with ``mutants=True``

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.proofs)


def comparable(result: LabResult) -> dict:
    """A result's JSON with the fields that may differ run to run (times) removed."""
    doc = to_dict(result)
    doc.pop("graded_at")
    doc.pop("duration")
    for check in doc["checks"]:
        check.pop("duration")
    return doc


def verify_lab(lab_id: str, *, visible: bool = True, mutants: bool = False, min_score: float | None = None,
               jobs: int | None = None, on_progress=None) -> LabProof:
    """Every proof of one lab; with ``mutants``, also its mutation score (at least ``min_score``)."""
    proofs: list[Proof] = []
    results: list[LabResult] = []
    try:
        lab = catalog.get_lab(lab_id)
        grader = catalog.grader_for(lab)
    except IclabError as exc:
        return LabProof(lab_id, (Proof("manifest", False, str(exc)),), ())
    proofs.append(Proof("manifest", True, f"lab.toml valid; {len(grader.checks)} checks, {grader.max_score:g} points"))
    proofs.append(_readme_matches(lab, grader))
    proofs.append(_coverage_written(lab, grader))
    proofs.append(_starter_matches(lab))
    proofs.append(_hints_present(lab))
    proofs.append(rubric_proof(lab, grader))

    reference = catalog.reference(lab)
    first = engine.grade(lab, reference, label="reference")
    results.append(first)
    if first.score == first.max_score and not first.problems:
        proofs.append(Proof("reference", True, f"reference scores {first.score:g}/{first.max_score:g}"))
    else:
        lost = ", ".join(f"{c.id} ({c.reason})" for c in first.failed()) or "; ".join(first.problems)
        proofs.append(Proof("reference", False, f"reference scores {first.score:g}/{first.max_score:g}: {lost}"))
    second = engine.grade(lab, reference, label="reference")
    same = comparable(first) == comparable(second)
    proofs.append(Proof("deterministic", same, "two gradings of the reference are identical" if same
                        else "two gradings of the reference differ (beyond times)"))

    check_ids = {c.id for c in grader.checks}
    try:
        flaws = catalog.flaws(lab)
    except IclabError as exc:
        proofs.append(Proof("flaws", False, str(exc)))
        flaws = []
    if not flaws:
        proofs.append(Proof("flaws", False, "no flawed solutions under solutions/%s/flawed/" % lab.id))
    for flaw in flaws:
        unknown = sorted(set(flaw.fails) - check_ids)
        result = engine.grade(lab, flaw.folder, label=f"flawed/{flaw.name}")
        results.append(result)
        lost = {c.id for c in result.checks if c.status is not Status.PASSED or c.points < c.max_points}
        expected = set(flaw.fails)
        if unknown:
            proofs.append(Proof(f"flaw:{flaw.name}", False, f"flaw.toml names unknown checks: {', '.join(unknown)}"))
        elif lost == expected:
            proofs.append(Proof(f"flaw:{flaw.name}", True, f"loses exactly {', '.join(sorted(expected))}"))
        else:
            parts = []
            if expected - lost:
                parts.append(f"should fail but passed: {', '.join(sorted(expected - lost))}")
            if lost - expected:
                parts.append(f"failed but not named: {', '.join(sorted(lost - expected))}")
            proofs.append(Proof(f"flaw:{flaw.name}", False, "; ".join(parts)))

    if visible:
        proofs.extend(_visible_tests(lab))
    report = None
    if mutants and first.score == first.max_score:
        from .mutation.analysis import MIN_SCORE, analyse

        threshold = MIN_SCORE if min_score is None else min_score
        try:
            report = analyse(lab.id, jobs=jobs, on_progress=on_progress)
        except IclabError as exc:
            proofs.append(Proof("mutants", False, str(exc)))
        else:
            detail = (f"{report.killed} of {report.generated - report.equivalent} non-equivalent mutants killed "
                      f"({report.score:.1f}%, needs {threshold:g}%); {len(report.survivors)} survived, "
                      f"{report.equivalent} reviewed equivalent")
            proofs.append(Proof("mutants", report.ok(threshold), detail))
    return LabProof(lab.id, tuple(proofs), tuple(results), report)


def _readme_matches(lab: Lab, grader) -> Proof:
    try:
        text = lab.readme.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Proof("readme", False, f"labs/{lab.id}/README.md is missing")
    missing = [s for s in README_SECTIONS if s not in text]
    if missing:
        return Proof("readme", False, f"README.md lacks sections: {', '.join(missing)}")
    criteria_block = text.split("## Acceptance criteria", 1)[1].split("\n## ", 1)[0]
    numbered = {int(n) for n in re.findall(r"^\s*(\d+)\.", criteria_block, flags=re.M)}
    needed = {c.criterion for c in grader.checks if c.criterion}
    if needed - numbered:
        return Proof("readme", False, f"checks cite acceptance criteria the README does not number: {sorted(needed - numbered)}")
    absent = [ep.name for ep in lab.entry_points if f"{ep.name}{ep.signature.split(' ->')[0]}" not in text.replace("`", "")]
    if absent:
        return Proof("readme", False, f"README.md does not state the signature of: {', '.join(absent)}")
    return Proof("readme", True, f"sections present; criteria {sorted(numbered)}; signatures stated")


def _coverage_written(lab: Lab, grader) -> Proof:
    """Hidden data is designed per criterion: each one a check judges lists at least two edge classes."""
    judged = sorted({c.criterion for c in grader.checks if c.criterion})
    thin = [n for n in judged if len(grader.coverage.get(n, ())) < 2]
    unknown = sorted(set(grader.coverage) - set(judged))
    if thin or unknown:
        parts = []
        if thin:
            parts.append(f"criteria without at least two edge classes in the grader's coverage: {thin}")
        if unknown:
            parts.append(f"coverage names criteria no check judges: {unknown}")
        return Proof("coverage", False, "; ".join(parts))
    classes = sum(len(grader.coverage[n]) for n in judged)
    return Proof("coverage", True, f"{classes} edge classes written down for criteria {judged}")


def _criteria_texts(readme: str) -> dict[int, str]:
    """Each numbered acceptance criterion's text, by number."""
    block = readme.split("## Acceptance criteria", 1)[1].split("\n## ", 1)[0] if "## Acceptance criteria" in readme else ""
    parts = re.split(r"^\s*(\d+)\.\s", block, flags=re.M)
    return {int(n): " ".join(text.split()) for n, text in zip(parts[1::2], parts[2::2])}


def rubric_proof(lab: Lab, grader) -> Proof:
    """Rubric items a person scores are sound: levels, criteria in the ticket, answer places in the starter.

    Each item's criterion is numbered in the README and names the answer file, and no
    check judges it (a criterion is scored once); the five level descriptors differ; the
    answer file is in the starter, with the section or the text fields the item reads;
    and the starter's answer is blank, so the template itself is never taken for one.
    """
    from .review.rubric import capture, markdown_section, toml_fields

    items = lab.rubric
    if not items:
        return Proof("rubric", True, "no rubric items (everything is scored by checks)")
    problems = []
    ids = [i.id for i in items]
    problems += [f"rubric id {x!r} is used twice" for x in sorted({x for x in ids if ids.count(x) > 1})]
    try:
        criteria = _criteria_texts(lab.readme.read_text(encoding="utf-8"))
    except OSError:
        criteria = {}
    judged = {c.criterion for c in grader.checks if c.criterion}
    for item in items:
        name = f"rubric {item.id}"
        if len(set(d.casefold() for d in item.levels)) != len(item.levels):
            problems.append(f"{name}: two of its levels have the same descriptor")
        if item.criterion is None:
            problems.append(f"{name}: names no acceptance criterion (criterion = N): the ticket must state it")
        elif item.criterion not in criteria:
            problems.append(f"{name}: criterion {item.criterion} is not numbered in the README's acceptance criteria")
        else:
            if item.criterion in judged:
                problems.append(f"{name}: criterion {item.criterion} is also judged by a check (scored twice)")
            if item.file not in criteria[item.criterion]:
                problems.append(f"{name}: criterion {item.criterion} does not say where to answer ({item.file})")
        path = lab.starter / item.file
        if not path.is_file():
            problems.append(f"{name}: the starter has no {item.file} (iclab start must give the learner the template)")
            continue
        text = path.read_text(encoding="utf-8")
        if item.section is not None:
            if not item.file.endswith(".md"):
                problems.append(f"{name}: a section is read from a Markdown file, not {item.file}")
            elif markdown_section(text, item.section) is None:
                problems.append(f'{name}: {item.file} in the starter has no section "{item.section}"')
        else:
            try:
                doc = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                problems.append(f"{name}: {item.file} in the starter is not valid TOML ({exc})")
                continue
            for field in item.fields:
                values = [v for _, _, v in toml_fields(doc, field)]
                if not values or not all(isinstance(v, str) for v in values):
                    problems.append(f"{name}: {item.file} in the starter has no text field {field}")
        if capture(item, lab.starter).answered:
            problems.append(f"{name}: the starter's {item.where} is not blank: the template would count as an answer")
    if problems:
        return Proof("rubric", False, "; ".join(problems))
    points = sum(i.points for i in items)
    return Proof("rubric", True, f"{len(items)} rubric items ({points:g} points, levels 0-4) stated as criteria "
                 f"{sorted(i.criterion for i in items)}; their answer places are in the starter, blank")


def _signature_text(fn: ast.FunctionDef) -> str:
    args = ast.unparse(fn.args)
    ret = f" -> {ast.unparse(fn.returns)}" if fn.returns else ""
    return f"({args}){ret}"


def _starter_matches(lab: Lab) -> Proof:
    problems = []
    for rel in lab.files:
        if not (lab.starter / rel).is_file():
            problems.append(f"starter lacks {rel}")
    for ep in lab.entry_points:
        path = lab.starter / (ep.module.replace(".", "/") + ".py")
        if not path.is_file():
            problems.append(f"starter lacks {path.name} for {ep.name}")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        if ep.name not in funcs:
            problems.append(f"{path.name} defines no {ep.name}()")
        elif _signature_text(funcs[ep.name]).replace(" ", "") != ep.signature.replace(" ", ""):
            problems.append(f"{ep.name}{_signature_text(funcs[ep.name])} in the starter, {ep.signature} in lab.toml")
    if problems:
        return Proof("starter", False, "; ".join(problems))
    return Proof("starter", True, f"starter defines {len(lab.entry_points)} entry points with the manifest's signatures")


def _hints_present(lab: Lab) -> Proof:
    from .hints import load_hints

    try:
        hints = load_hints(lab)
    except IclabError as exc:
        return Proof("hints", False, str(exc))
    ok = len(hints) >= 2 and all(body for _, body in hints)
    return Proof("hints", ok, f"{len(hints)} hints" if ok else "hints.md needs at least two hints, each with text")


def _visible_tests(lab: Lab) -> list[Proof]:
    out = []
    with tempfile.TemporaryDirectory(prefix="iclab-verify-") as tmp:
        ref_ws = assemble(lab, Path(tmp) / "reference", overlay=catalog.reference(lab))
        run = run_visible_tests(ref_ws)
        out.append(Proof("visible-tests-reference", run.ok,
                         f"{run.passed} passed on the reference" if run.ok else f"on the reference: {run.summary}"))
        starter_ws = assemble(lab, Path(tmp) / "starter")
        run = run_visible_tests(starter_ws)
        ok = run.total > 0 and run.passed == 0
        out.append(Proof("visible-tests-starter", ok,
                         f"all {run.total} fail on the untouched starter" if ok
                         else f"on the untouched starter {run.passed} of {run.total} visible tests pass (they test nothing)"))
    return out
