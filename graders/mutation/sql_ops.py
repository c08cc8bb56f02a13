"""Mutants of SQL queries: the mistakes reconciliation queries really have.

Tokens come from DuckDB's own tokenizer (``duckdb.tokenize``), so comments and
string literals are never mistaken for code. Operators: join kinds swapped
(``JOIN``/``LEFT``/``RIGHT``/``FULL``), comparisons (``=``/``<>``, ``<``/``<=``,
``>``/``>=``), ``IS NULL``/``IS NOT NULL``, ``NOT IN``/``NOT EXISTS`` losing
their ``NOT``, ``AND``/``OR``, a ``WHERE``/``HAVING``/``FILTER`` term dropped
(or the whole clause when it has one), ``DISTINCT`` removed, ``UNION``/
``UNION ALL`` and ``EXCEPT``/``EXCEPT ALL`` swapped, normalising functions
(``trim``, ``upper``, ``lower``, ``coalesce``, ``abs``, ``round``, ``CAST``)
removed, ``trim`` as ``rtrim``/``ltrim``, numbers off by one or by a factor of
ten, string literals changed.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .model import Mutant, dedupe, make_mutant

__all__ = ["sql_mutants"]


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    kind: str   # keyword | identifier | operator | numeric_const | string_const | comment
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


def _tokens(sql: str) -> list[_Tok]:
    raw = duckdb.tokenize(sql)
    out = []
    for i, (start, kind) in enumerate(raw):
        stop = raw[i + 1][0] if i + 1 < len(raw) else len(sql)
        text = sql[start:stop].rstrip()
        name = str(kind).rsplit(".", 1)[-1]
        if name != "comment":
            out.append(_Tok(start, start + len(text), name, text))
    return out


def _case(like: str, word: str) -> str:
    """``word`` in the letter case of ``like`` (queries mix both styles)."""
    return word.lower() if like.islower() else word.upper()


class _Edits:
    def __init__(self, sql: str, file: str):
        self.sql, self.file, self.found = sql, file, []

    def replace(self, operator: str, start: int, end: int, text: str) -> None:
        self.found.append(make_mutant(self.file, operator, self.sql, self.sql[:start] + text + self.sql[end:]))


_COMPARE = {"=": ["<>"], "<>": ["="], "!=": ["="], "<": ["<="], "<=": ["<"], ">": [">="], ">=": [">"]}
_JOIN_KINDS = ("INNER", "LEFT", "RIGHT", "FULL")
_NORMALISERS = {"TRIM", "LTRIM", "RTRIM", "UPPER", "LOWER", "COALESCE", "ABS", "ROUND", "IFNULL"}
_CLAUSE_END = {"GROUP", "ORDER", "HAVING", "UNION", "EXCEPT", "INTERSECT", "LIMIT", "WINDOW", "QUALIFY",
               "SELECT", "FROM", "WHERE", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "ON", "USING"}


def _matching(tokens: list[_Tok], i: int) -> int | None:
    """Index of the ``)`` closing the ``(`` at ``tokens[i]``."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def _top_level_args(tokens: list[_Tok], open_i: int, close_i: int) -> list[tuple[int, int]]:
    """Token index ranges [a, b) of the comma-separated arguments between two parentheses."""
    args, depth, begin = [], 0, open_i + 1
    for j in range(open_i + 1, close_i):
        t = tokens[j].text
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        elif t == "," and depth == 0:
            args.append((begin, j))
            begin = j + 1
    args.append((begin, close_i))
    return [a for a in args if a[0] < a[1]]


def _clause_terms(tokens: list[_Tok], kw: int) -> list[tuple[int, int]]:
    """The AND-separated terms (token ranges) of the WHERE/HAVING clause opened at ``tokens[kw]``."""
    depth, begin, terms, between = 0, kw + 1, [], False
    j = kw + 1
    while j < len(tokens):
        t = tokens[j]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and t.kind == "keyword":
            if t.upper in _CLAUSE_END or t.text == ";":
                break
            if t.upper == "BETWEEN":
                between = True
            elif t.upper == "AND":
                if between:
                    between = False
                else:
                    terms.append((begin, j))
                    begin = j + 1
        elif t.text == ";":
            break
        j += 1
    terms.append((begin, j))
    return [r for r in terms if r[0] < r[1]]


def sql_mutants(file: str, sql: str) -> list[Mutant]:
    """Every mutant of one SQL file."""
    tokens = _tokens(sql)
    e = _Edits(sql, file)
    for i, t in enumerate(tokens):
        up = t.upper
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i else None
        if t.kind == "operator" and t.text in _COMPARE:
            for other in _COMPARE[t.text]:
                e.replace("sql-comparison", t.start, t.end, other)
        elif t.kind == "keyword" and up in _JOIN_KINDS:
            for other in _JOIN_KINDS:
                if other != up:
                    e.replace("sql-join", t.start, t.end, _case(t.text, other))
        elif t.kind == "keyword" and up == "JOIN" and (prev is None or prev.upper not in
                                                      _JOIN_KINDS + ("OUTER", "CROSS", "ANTI", "SEMI", "ASOF", "POSITIONAL", "NATURAL")):
            e.replace("sql-join", t.start, t.end, _case(t.text, "LEFT JOIN"))
        elif t.kind == "keyword" and up == "DISTINCT":
            e.replace("sql-distinct", t.start, nxt.start if nxt else t.end, "")
        elif t.kind == "keyword" and up in ("UNION", "EXCEPT", "INTERSECT"):
            if nxt is not None and nxt.upper == "ALL":
                e.replace("sql-set", t.end, nxt.end, "")
            else:
                e.replace("sql-set", t.start, t.end, f"{t.text} {_case(t.text, 'ALL')}")
            if up in ("EXCEPT", "INTERSECT"):
                e.replace("sql-set", t.start, t.end, _case(t.text, "INTERSECT" if up == "EXCEPT" else "EXCEPT"))
        elif t.kind == "keyword" and up == "NOT" and nxt is not None:
            e.replace("sql-not", t.start, nxt.start, "")
        elif t.kind == "keyword" and up == "IS" and nxt is not None and nxt.upper == "NULL":
            e.replace("sql-null", t.end, t.end, " " + _case(t.text, "NOT"))
        elif t.kind == "keyword" and up in ("AND", "OR"):
            e.replace("sql-and-or", t.start, t.end, _case(t.text, "OR" if up == "AND" else "AND"))
        elif t.kind == "keyword" and up in ("WHERE", "HAVING"):
            terms = _clause_terms(tokens, i)
            if len(terms) == 1:
                a, b = terms[0]
                if i >= 2 and tokens[i - 1].text == "(" and tokens[i - 2].upper == "FILTER":
                    close = _matching(tokens, i - 1)  # FILTER (WHERE x) goes as a whole
                    if close is not None:
                        e.replace("sql-dropped-condition", tokens[i - 2].start, tokens[close].end, "")
                    continue
                end = tokens[b].start if b < len(tokens) else len(sql)
                e.replace("sql-dropped-condition", t.start, end, "")
            else:
                for k, (a, b) in enumerate(terms):
                    if k == 0:  # the first term and the AND after it
                        e.replace("sql-dropped-condition", tokens[a].start, tokens[b + 1].start, "")
                    else:  # the AND before the term, and the term
                        e.replace("sql-dropped-condition", tokens[a - 1].start, tokens[b - 1].end, "")
        elif (t.kind in ("keyword", "identifier") and up in _NORMALISERS | {"CAST"}
              and nxt is not None and nxt.text == "("):
            close = _matching(tokens, i + 1)
            if close is None:
                continue
            args = _top_level_args(tokens, i + 1, close)
            if args:
                a, b = args[0]
                if up == "CAST":  # CAST(x AS T) -> x
                    b = next((k for k in range(a, b) if tokens[k].upper == "AS"), b)
                inner = sql[tokens[a].start:tokens[b - 1].end]
                e.replace("sql-function", t.start, tokens[close].end, inner)
            if up == "TRIM":
                for other in ("rtrim", "ltrim"):
                    e.replace("sql-function", t.start, t.end, _case(t.text, other))
            elif up in ("UPPER", "LOWER"):
                e.replace("sql-function", t.start, t.end, _case(t.text, "lower" if up == "UPPER" else "upper"))
        elif t.kind == "numeric_const":
            if "." in t.text:
                value = float(t.text)
                for other in (value * 10, 0):
                    e.replace("sql-constant", t.start, t.end, repr(other) if other else "0")
            else:
                value = int(t.text)
                e.replace("sql-constant", t.start, t.end, str(value + 1))
                if value > 0:
                    e.replace("sql-constant", t.start, t.end, str(value - 1))
        elif t.kind == "string_const" and t.text.startswith("'"):
            body = t.text[1:-1]
            e.replace("sql-string", t.start, t.end, f"'XX{body}XX'")
    return dedupe([m for m in e.found if m is not None and _parses(m.source)])


def _parses(sql: str) -> bool:
    try:
        duckdb.extract_statements(sql)
        return True
    except duckdb.Error:
        return False
