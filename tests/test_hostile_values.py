"""No learner value crashes a check: every lab, its entry points returning wrong-typed values.

A wrong type is a failed check with a reason the learner can act on, never
"internal grader error". Each learner Python file of each lab is graded with
its public functions and classes replaced by ones returning a hostile value:
all of them at once, and (for the commonest wrong types) one at a time.
"""
from __future__ import annotations

import ast
import shutil

import pytest

from graders import catalog, engine

VALUES = {  # the list (None, float, str subclass, list, deep nesting, NaN, a 100 MB string), and a few more
    "none": "None",
    "float": "1.5",
    "nan": "float('nan')",
    "bool": "True",
    "str-subclass": "type('S', (str,), {})('sub')",
    "list": "[1, 'two', None]",
    "tagged-dict": "{'$t': 'tuple', 'v': [1, 2]}",
    "deep-95": "__import__('functools').reduce(lambda acc, _: [acc], range(95), 0)",
    "deep-10000": "__import__('functools').reduce(lambda acc, _: [acc], range(10000), 0)",
    "huge-str": "'x' * (100 * 1024 * 1024)",
}
ONE_AT_A_TIME = ("none", "list")  # one entry point wrong while the others answer: other code paths


def _public_names(source: str) -> list[str]:
    tree = ast.parse(source)
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]


def _cases():
    for lab in catalog.all_labs():
        ref = catalog.reference(lab)
        for rel in lab.files:
            if not rel.endswith(".py") or rel.startswith("test_"):
                continue
            names = _public_names((ref / rel).read_text(encoding="utf-8"))
            for value in VALUES:
                yield pytest.param(lab.id, rel, tuple(names), value, id=f"{lab.id}-{rel}-all-{value}")
            for name in names:
                for value in ONE_AT_A_TIME:
                    yield pytest.param(lab.id, rel, (name,), value, id=f"{lab.id}-{rel}-{name}-{value}")


@pytest.mark.parametrize("lab_id, rel, names, value", list(_cases()))
def test_hostile_return_values_never_cause_an_internal_error(tmp_path, lab_id, rel, names, value):
    lab = catalog.get_lab(lab_id)
    sub = tmp_path / "sub"
    shutil.copytree(catalog.reference(lab), sub)
    hostile = "".join(f"\n\ndef {name}(*args, **kwargs):\n    return {VALUES[value]}\n" for name in names)
    (sub / rel).write_text((sub / rel).read_text(encoding="utf-8") + hostile, encoding="utf-8")
    result = engine.grade(lab, sub)
    internal = [p for p in result.problems if engine.INTERNAL in p]
    assert not internal, "\n".join(internal)
    assert result.score < result.max_score  # the hostile values were noticed
    for check in result.checks:
        assert check.reason.strip(), f"{check.id} has no reason"
