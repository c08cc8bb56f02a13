"""Meta-tests: every lab in the catalogue is proven (datasette's plugin-hooks-have-tests, for labs)."""
from __future__ import annotations

import pytest

from graders import catalog
from graders.verify import verify_lab

LABS = catalog.lab_ids()


def test_there_are_labs():
    assert "map-customer" in LABS


@pytest.mark.parametrize("lab_id", LABS)
def test_lab_is_proven(lab_id):
    proof = verify_lab(lab_id)
    failures = [f"{p.name}: {p.detail}" for p in proof.proofs if not p.ok]
    assert not failures, "\n".join(failures)
    names = {p.name for p in proof.proofs}
    assert {"reference", "deterministic", "visible-tests-reference", "visible-tests-starter", "readme", "starter",
            "coverage"} <= names
    assert any(n.startswith("flaw:") for n in names)


@pytest.mark.parametrize("lab_id", LABS)
def test_lab_equivalent_mutants_are_current(lab_id):
    """Every reviewed equivalent names a mutant the reference still has (generating mutants costs no grading)."""
    from graders.mutation.analysis import lab_mutants
    from graders.mutation.equivalents import FILE_NAME, load_equivalents

    lab = catalog.get_lab(lab_id)
    listed = load_equivalents(lab.solutions / FILE_NAME)
    mutants, _ = lab_mutants(lab)
    ids = {m.id for m in mutants}
    assert not set(listed) - ids, f"{FILE_NAME} lists mutants the reference no longer has: {sorted(set(listed) - ids)}"


@pytest.mark.parametrize("lab_id", LABS)
def test_lab_kills_its_reference_mutants(lab_id):
    """Grading power, on a fixed tenth of the mutants (`iclab verify --mutants` grades them all)."""
    from graders.mutation.analysis import MIN_SCORE, analyse

    report = analyse(lab_id, sample=10)
    survivors = [f"{r.mutant.id} at {r.mutant.where}" for r in report.survivors]
    assert report.generated > 0
    assert report.score >= MIN_SCORE, f"{report.score}% of a tenth of the mutants killed; survivors: {survivors}"
    assert not report.killed_but_listed and not report.errors
