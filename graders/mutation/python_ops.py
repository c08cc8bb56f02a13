"""Mutants of Python code: mutmut's operator table, plus the kinds of mistake it has no operator for.

mutmut (3.x) keeps its operators as a table of ``(libcst node type, function
yielding replacement nodes)``: numbers off by one, ``<``/``<=``, ``==``/``!=``,
``and``/``or``, ``in``/``not in``, ``True``/``False``, ``lower``/``upper``,
``lstrip``/``rstrip``, strings changed, arguments dropped, assignments to None,
``break``/``continue``. We walk the tree ourselves (mutmut's own walker is
bound to its project configuration and trampolines) and add, in the same shape,
what realistic integration mistakes need and mutmut lacks: a dropped ``raise``,
a removed call statement or ``continue``, a swallowed or broadened ``except``,
``strip()`` that became ``rstrip()`` or vanished, a slice bound dropped, two
values swapped between dictionary keys, a value returned as None, a loop left
early.

Not mutated: imports, annotations, decorators, docstrings, and
``if __name__ == "__main__":`` blocks (no grader runs them).
"""
from __future__ import annotations

from typing import Callable, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, WhitespaceInclusivePositionProvider

from .model import Mutant, dedupe, make_mutant

__all__ = ["python_mutants", "OPERATOR_NAMES"]


def _mutmut_operators() -> list[tuple[type, Callable]]:
    try:
        from mutmut.mutation.mutators import mutation_operators  # mutmut >= 3.8
    except ImportError:  # older 3.x
        from mutmut.node_mutation import mutation_operators
    return list(mutation_operators)


# -- the operators mutmut has no equivalent of ---------------------------------------
_NORMALISERS = ("strip", "lstrip", "rstrip", "lower", "upper", "casefold", "title")


def _is_docstring(stmt: cst.BaseSmallStatement) -> bool:
    return isinstance(stmt, cst.Expr) and isinstance(stmt.value, (cst.SimpleString, cst.ConcatenatedString))


def operator_statement_removal(node: cst.SimpleStatementLine) -> Iterable[cst.SimpleStatementLine]:
    """A call made for its effect, a raise, a continue or a break, replaced by ``pass``."""
    for i, stmt in enumerate(node.body):
        removable = (isinstance(stmt, (cst.Raise, cst.Continue, cst.Break, cst.Del))
                     or (isinstance(stmt, cst.Expr) and isinstance(stmt.value, (cst.Call, cst.Await))
                         and not _is_docstring(stmt)))
        if removable:
            yield node.with_changes(body=[*node.body[:i], cst.Pass(), *node.body[i + 1:]])


def operator_continue_returns(node: cst.Continue) -> Iterable[cst.Return]:
    """``continue`` that became ``return``: the loop (and the function) left early."""
    yield cst.Return()


def operator_return_none(node: cst.Return) -> Iterable[cst.Return]:
    if node.value is not None and not (isinstance(node.value, cst.Name) and node.value.value == "None"):
        yield node.with_changes(value=cst.Name("None"))


_BROAD = {"Exception", "BaseException"}


def operator_exceptions(node: cst.Try) -> Iterable[cst.Try]:
    """Each handler swallows what it caught (body ``pass``), or catches everything."""
    for i, handler in enumerate(node.handlers):
        body = handler.body
        only_pass = (isinstance(body, cst.IndentedBlock) and len(body.body) == 1
                     and isinstance(body.body[0], cst.SimpleStatementLine)
                     and all(isinstance(s, cst.Pass) for s in body.body[0].body))
        if not only_pass:
            quiet = handler.with_changes(body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])]))
            yield node.with_changes(handlers=[*node.handlers[:i], quiet, *node.handlers[i + 1:]])
        kind = handler.type
        if kind is not None and not (isinstance(kind, cst.Name) and kind.value in _BROAD):
            broad = handler.with_changes(type=cst.Name("Exception"))
            yield node.with_changes(handlers=[*node.handlers[:i], broad, *node.handlers[i + 1:]])


def operator_normalisers(node: cst.Call) -> Iterable[cst.BaseExpression]:
    """``x.strip()`` as ``x.rstrip()``/``x.lstrip()``, and any of strip/lower/upper/... left out."""
    func = node.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _NORMALISERS:
        return
    if func.attr.value == "strip":
        for other in ("rstrip", "lstrip"):
            yield node.with_changes(func=func.with_changes(attr=cst.Name(other)))
    if not node.args:
        yield func.value


def operator_slices(node: cst.Slice) -> Iterable[cst.Slice]:
    if node.lower is not None:
        yield node.with_changes(lower=None)
    if node.upper is not None:
        yield node.with_changes(upper=None)


def operator_dict_value_swap(node: cst.Dict) -> Iterable[cst.Dict]:
    """Two neighbouring keys' values exchanged (``{"accepted": a, "rejected": r}`` -> ``{... r, ... a}``)."""
    elements = list(node.elements)
    if len(elements) > 12:
        return  # a constant table, not a record being built
    for i in range(len(elements) - 1):
        a, b = elements[i], elements[i + 1]
        if isinstance(a, cst.DictElement) and isinstance(b, cst.DictElement):
            swapped = [*elements[:i], a.with_changes(value=b.value), b.with_changes(value=a.value), *elements[i + 2:]]
            yield node.with_changes(elements=swapped)


_OURS: list[tuple[type, Callable]] = [
    (cst.SimpleStatementLine, operator_statement_removal),
    (cst.Continue, operator_continue_returns),
    (cst.Return, operator_return_none),
    (cst.Try, operator_exceptions),
    (cst.Call, operator_normalisers),
    (cst.Slice, operator_slices),
    (cst.Dict, operator_dict_value_swap),
]

# Names shown in reports (and part of each mutant's id).
OPERATOR_NAMES = {
    "operator_number": "constant", "operator_string": "string", "operator_name": "true-false",
    "operator_assignment": "assignment", "operator_augmented_assignment": "augmented-assignment",
    "operator_remove_unary_ops": "unary", "operator_dict_arguments": "dict-kwarg",
    "operator_arg_removal": "argument", "operator_symmetric_string_methods_swap": "string-method",
    "operator_unsymmetrical_string_methods_swap": "string-method", "operator_lambda": "lambda",
    "operator_keywords": "keyword", "operator_match": "match-case", "operator_if_exp": "conditional",
    "operator_statement_removal": "removed-statement", "operator_continue_returns": "returned-early",
    "operator_return_none": "returned-none", "operator_exceptions": "exception-handling",
    "operator_normalisers": "string-method", "operator_slices": "slice",
    "operator_dict_value_swap": "swapped-dict-values",
}


def _name(func: Callable, node: cst.CSTNode) -> str:
    if func.__name__ == "operator_swap_op":
        return {cst.ComparisonTarget: "comparison", cst.BooleanOperation: "and-or",
                cst.BinaryOperation: "arithmetic", cst.AugAssign: "augmented-assignment",
                cst.UnaryOperation: "unary"}.get(type(node), "operator")
    return OPERATOR_NAMES.get(func.__name__, func.__name__.removeprefix("operator_").replace("_", "-"))


def _is_main_guard(node: cst.If) -> bool:
    test = node.test
    return (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and test.left.value == "__name__")


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (WhitespaceInclusivePositionProvider,)

    def __init__(self, operators):
        super().__init__()
        self.operators = operators
        self.found: list[tuple[str, cst.CSTNode, cst.CSTNode, object]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Annotation, cst.Decorator, cst.Import, cst.ImportFrom)):
            return False
        if isinstance(node, cst.SimpleStatementLine) and node.body and _is_docstring(node.body[0]):
            return False
        if isinstance(node, cst.If) and _is_main_guard(node):
            return False
        if isinstance(node, cst.SimpleStatementLine) and _assigns_all(node):
            return False
        if isinstance(node, cst.Param) and node.default is not None and not isinstance(
                node.default, (cst.Name, cst.BaseNumber, cst.BaseString)):
            return False  # evaluated at definition: a mutant would break the import, not the behaviour
        for kind, func in self.operators:
            if isinstance(node, kind):
                for mutated in func(node):
                    where = self.get_metadata(WhitespaceInclusivePositionProvider, node, None)
                    if where is not None:
                        self.found.append((_name(func, node), node, mutated, where))
        return True


def _assigns_all(node: cst.SimpleStatementLine) -> bool:
    """``__all__ = [...]``: documentation of exports, which no grader imports by star."""
    return any(isinstance(s, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == "__all__"
                                                 for t in s.targets) for s in node.body)


def _offsets(source: str) -> list[int]:
    """Offset of the start of each line (index 0 is line 1)."""
    starts, pos = [0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def splice(source: str, starts: list[int], where, rendered: str) -> str:
    """``source`` with the node at ``where`` replaced by ``rendered``.

    A statement's span starts at its line's indentation, which the node does
    not render (its block does): every rendered line gets that indentation back.
    """
    begin = starts[where.start.line - 1] + where.start.column
    end = starts[where.end.line - 1] + where.end.column
    old = source[begin:end]
    indent = old[:len(old) - len(old.lstrip(" \t"))] if where.start.column == 0 else ""
    if indent:
        rendered = "".join(indent + line if line.strip() else line for line in rendered.splitlines(keepends=True))
    return source[:begin] + rendered + source[end:]


def python_mutants(file: str, source: str) -> list[Mutant]:
    """Every mutant of one Python file that still compiles.

    Each replacement node is rendered on its own and spliced into the text at
    the original node's span: rendering the whole module per mutant cost
    seconds per file.
    """
    wrapper = MetadataWrapper(cst.parse_module(source))
    collector = _Collector(_mutmut_operators() + _OURS)
    wrapper.visit(collector)
    module = wrapper.module
    starts = _offsets(source)
    out = []
    for operator, _node, mutated, where in collector.found:
        try:
            text = splice(source, starts, where, module.code_for_node(mutated))
            compile(text, file, "exec")
        except (SyntaxError, ValueError, TypeError, cst.CSTValidationError):
            continue
        out.append(make_mutant(file, operator, source, text))
    return dedupe(out)
