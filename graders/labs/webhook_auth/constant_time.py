"""Constant-time comparison, judged from the learner's source text: read safely, parsed here, never run."""
from __future__ import annotations

import ast
import errno
import os
import stat
from pathlib import Path

__all__ = ["MODULE", "constant_time_findings", "read_source"]

MODULE = "webhooks"  # the learner's module, whose source is read as text
_MAX_BYTES = 1 << 20  # a webhook module is a few kilobytes


def read_source(folder: Path) -> tuple[bytes | None, str | None]:
    """The submission's webhooks.py as bytes, or None and why not.

    A submitted file may be a symbolic link to somewhere else (the reference
    solution, say): it is refused, never followed. So are FIFOs, devices and
    anything over a megabyte. The bytes are parsed as Python source, which
    honours a UTF-8 BOM and a coding declaration as the interpreter would.
    """
    name = f"{MODULE}.py"
    try:
        fd = os.open(Path(folder) / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None, f"the submission has no {name}"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, f"{name} is a symbolic link: the grader reads only a file you wrote, not one it points to"
        return None, f"{name} could not be read ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{name} is not a regular file"
        chunks, size = [], 0
        while size <= _MAX_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, f"{name} could not be read ({exc.strerror})"
    finally:
        os.close(fd)
    if size > _MAX_BYTES:
        return None, f"{name} is larger than {_MAX_BYTES >> 20} MB, too large to be read as a source file"
    return b"".join(chunks), None
_DIGEST_CALLS = {"hexdigest", "digest"}
_EQUALITY = {ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in"}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _mentions_digest(node: ast.AST, tainted: set, producers: set) -> bool:
    """Does ``node`` compute or carry a MAC (len() of one does not count)?"""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Call):
            name = _call_name(item)
            if name in ("len", "compare_digest"):  # a length or a verdict, not the MAC itself
                continue
            if name in _DIGEST_CALLS or name in producers:
                return True
        if isinstance(item, ast.Name) and item.id in tainted:
            return True
        stack.extend(ast.iter_child_nodes(item))
    return False


def _tainted_names(nodes: list, producers: set) -> set:
    """Names assigned from a MAC computation among a function's ``nodes``, to a fixed point."""
    assignments = [n for n in nodes if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and n.value is not None]
    tainted: set = set()
    while True:
        before = len(tainted)
        for node in assignments:
            if _mentions_digest(node.value, tainted, producers):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                tainted.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if len(tainted) == before:
            return tainted


def constant_time_findings(source: str | bytes, entry_points: tuple[str, ...]) -> list[str]:
    """Problems with how each entry point compares MACs; empty when compare_digest does it."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"{MODULE}.py cannot be parsed (line {exc.lineno}): {exc.msg}"]
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return [f"{MODULE}.py cannot be parsed: {type(exc).__name__}"]
    everything = list(ast.walk(tree))
    functions = {n.name: n for n in everything if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    # A helper written as `check = lambda a, b: ...` is a function too.
    functions.update({t.id: n.value for n in everything if isinstance(n, ast.Assign) and isinstance(n.value, ast.Lambda)
                      for t in n.targets if isinstance(t, ast.Name)})
    nodes = {name: list(ast.walk(fn)) for name, fn in functions.items()}  # walked once, read many times
    aliases = {a.asname or a.name for n in everything if isinstance(n, ast.ImportFrom)
               and n.module in ("hmac", "secrets") for a in n.names if a.name == "compare_digest"}
    producers: set = set()
    while True:  # helpers that return a MAC, e.g. def _sign(...): return hmac.new(...).hexdigest()
        before = len(producers)
        for name in functions:
            tainted = _tainted_names(nodes[name], producers)
            if any(isinstance(n, ast.Return) and n.value is not None and _mentions_digest(n.value, tainted, producers)
                   for n in nodes[name]):
                producers.add(name)
        if len(producers) == before:
            break
    findings = []
    for entry in entry_points:
        if entry not in functions:
            findings.append(f"{MODULE}.py defines no {entry}()")
            continue
        reach, todo = [], [entry]
        while todo:  # the entry point and every module function it calls, directly or not
            name = todo.pop()
            if name in reach or name not in functions:
                continue
            reach.append(name)
            todo.extend(_call_name(c) for c in nodes[name] if isinstance(c, ast.Call))
        uses_digest_compare = False
        for name in reach:
            tainted = _tainted_names(nodes[name], producers)
            for node in nodes[name]:
                if isinstance(node, ast.Call) and (_call_name(node) == "compare_digest" or _call_name(node) in aliases):
                    uses_digest_compare = True
                if isinstance(node, ast.Compare):
                    ops = [_EQUALITY[type(op)] for op in node.ops if type(op) in _EQUALITY]
                    if ops and any(_mentions_digest(x, tainted, producers) for x in [node.left, *node.comparators]):
                        findings.append(f"{entry}: line {node.lineno} compares a signature with `{ops[0]}`; use "
                                        "hmac.compare_digest, whose time does not depend on where the first difference is")
        if not uses_digest_compare:
            findings.append(f"{entry} never calls hmac.compare_digest to compare the signature")
    return findings
