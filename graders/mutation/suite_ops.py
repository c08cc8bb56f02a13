"""Weakened copies of a learner's pytest suite (for labs whose deliverable is tests).

A suite is weakened the ways a hurried tester weakens one: a test deleted, an
``assert`` left out, one case of a ``parametrize`` list dropped,
``pytest.raises(SomeError)`` loosened to ``Exception`` or its ``match=``
dropped. A grader with power scores each weakened suite lower than the full
one; a weakened suite that keeps full marks survived.
"""
from __future__ import annotations

from typing import Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, WhitespaceInclusivePositionProvider

from .model import Mutant, dedupe, make_mutant
from .python_ops import _offsets, splice

__all__ = ["suite_mutants", "is_test_file"]


def is_test_file(name: str) -> bool:
    """pytest's default discovery rule for test modules."""
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".py") and (base.startswith("test_") or base.endswith("_test.py"))


def _is_test(node: cst.FunctionDef) -> bool:
    return node.name.value.startswith("test")


def _parametrize_lists(node: cst.FunctionDef) -> Iterable[tuple[int, cst.Decorator, cst.Arg]]:
    for k, dec in enumerate(node.decorators):
        call = dec.decorator
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "parametrize":
            if len(call.args) >= 2 and isinstance(call.args[1].value, (cst.List, cst.Tuple)):
                yield k, dec, call.args[1]


def _raises_call(node: cst.Call) -> bool:
    return isinstance(node.func, cst.Attribute) and node.func.attr.value == "raises"


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (WhitespaceInclusivePositionProvider,)

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, cst.CSTNode, cst.CSTNode | None, object]] = []

    def _add(self, operator: str, node: cst.CSTNode, mutated: cst.CSTNode | None) -> None:
        where = self.get_metadata(WhitespaceInclusivePositionProvider, node, None)
        if where is not None:
            self.found.append((operator, node, mutated, where))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if not _is_test(node):
            return True
        self._add("suite-deleted-test", node, None)
        for k, dec, arg in _parametrize_lists(node):
            cases = list(arg.value.elements)
            if len(cases) < 2:
                continue
            for i in range(len(cases)):
                kept = [*cases[:i], *cases[i + 1:]]
                if i == len(cases) - 1:  # the new last case ends as the old last one did
                    kept[-1] = kept[-1].with_changes(comma=cases[-1].comma)
                new_arg = arg.with_changes(value=arg.value.with_changes(elements=kept))
                call = dec.decorator
                new_call = call.with_changes(args=[call.args[0], new_arg, *call.args[2:]])
                self._add("suite-dropped-case", dec, dec.with_changes(decorator=new_call))
        return True

    def visit_Assert(self, node: cst.Assert) -> None:
        self._add("suite-removed-assert", node, cst.Pass())

    def visit_Call(self, node: cst.Call) -> None:
        if not _raises_call(node) or not node.args:
            return
        first = node.args[0]
        if not (isinstance(first.value, cst.Name) and first.value.value in ("Exception", "BaseException")):
            self._add("suite-loosened-raises", node,
                      node.with_changes(args=[first.with_changes(value=cst.Name("Exception")), *node.args[1:]]))
        rest = [a for a in node.args if not (a.keyword and a.keyword.value == "match")]
        if len(rest) < len(node.args):
            rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            self._add("suite-loosened-raises", node, node.with_changes(args=rest))


def suite_mutants(file: str, source: str) -> list[Mutant]:
    """Every weakened copy of one test module that still compiles."""
    wrapper = MetadataWrapper(cst.parse_module(source))
    collector = _Collector()
    wrapper.visit(collector)
    module = wrapper.module
    starts = _offsets(source)
    out = []
    for operator, _node, mutated, where in collector.found:
        text = splice(source, starts, where, module.code_for_node(mutated) if mutated is not None else "")
        try:
            compile(text, file, "exec")
        except SyntaxError:
            continue
        out.append(make_mutant(file, operator, source, text))
    return dedupe(out)
