"""A small graded cohort with rubric answers, built once; each test reviews its own copy of it."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from graders import gradebook

ROOT = Path(__file__).resolve().parents[3]
MAP_SOL = ROOT / "solutions" / "map-customer"
TRIAGE_SOL = ROOT / "solutions" / "log-triage"

# Answers are hostile input: markup that would run if the page ever put it in as HTML.
HOSTILE = '<img src=x onerror="window.__pwned=1"></pre><script>window.__pwned=2</script>'
ANA_ANSWERS = f"""# Written answers

## Idempotent creates

I, Ana, would send Idempotency-Key CRM-<AccountId> on every create and on every retry of it.
{HOSTILE}

## What to log and what not

Log the run id, AccountId and reason code; never the e-mail or phone (mask them).
"""
BOB_ANSWERS = """## Idempotent creates

Retry carefully.

## What to log and what not

<!-- the template's comment, untouched -->
"""


def make_cohort(root: Path) -> None:
    """ana, bob, cy (map-customer), dee (log-triage), mal (refused), empty (ungradable)."""
    for name, source, answers in (("ana", MAP_SOL / "reference", ANA_ANSWERS),
                                  ("bob", MAP_SOL / "flawed" / "ignores-timezone", BOB_ANSWERS),
                                  ("cy", MAP_SOL / "reference", None)):
        dest = root / name / "map-customer"
        dest.mkdir(parents=True)
        shutil.copyfile(source / "mapper.py", dest / "mapper.py")
        if answers is not None:
            (dest / "answers.md").write_text(answers, encoding="utf-8")
    dest = root / "dee" / "log-triage"
    shutil.copytree(TRIAGE_SOL / "reference", dest)
    findings = (dest / "findings.toml").read_text(encoding="utf-8")
    (dest / "findings.toml").write_text(findings.replace(
        "\n[INC-2]", '\nescalation = "ERP team (owner of PricingService), today: the missing tax code"\n\n[INC-2]', 1),
        encoding="utf-8")
    with zipfile.ZipFile(root / "mal.zip", "w") as zf:
        zf.writestr("iclab-submission.json", json.dumps({
            "schema": "iclab/submission/v1", "tool_version": "0.1.0", "created": "2025-01-01T00:00:00Z",
            "labs": ["map-customer"], "files": []}))
        zf.writestr("../../escaped.py", "print('out')\n")
    (root / "empty").mkdir()


def grade(subs: Path, out: Path) -> Path:
    from graders.batch import make_plan, run_batch

    summary = run_batch(make_plan(subs), out, jobs=2)
    assert not summary.failed_units, summary.failed_units
    gradebook.build(out, [out / "journal.jsonl"])
    return out


@pytest.fixture(scope="session")
def graded_cohort(tmp_path_factory) -> Path:
    """The batch output, pristine: never review in it, copy it (``review_out``)."""
    subs = tmp_path_factory.mktemp("review-cohort") / "subs"
    subs.mkdir()
    make_cohort(subs)
    return grade(subs, tmp_path_factory.mktemp("review-out") / "out")


@pytest.fixture
def review_out(graded_cohort, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(graded_cohort, out)
    return out


@pytest.fixture
def hostile() -> str:
    """The markup planted in ana's answer."""
    return HOSTILE
