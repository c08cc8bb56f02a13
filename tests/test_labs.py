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
