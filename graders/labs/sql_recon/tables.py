"""sql-recon's hidden tables and the oracle that computes every expected row from them.

Five worlds, each a pair of tables in its own DuckDB file. The main one holds every kind of row the
ticket describes, in every spelling; the four small ones put unkeyed rows where the main one cannot:
only in source_txn, only in target_txn, exactly one on each side (differing, or equal), and tune the
reconciled percentage (a value that double rounding gets wrong, and 100.00). A filter that forgets
blank keys hides behind a blank key on the other side of an EXCEPT, so no single pair of tables can
catch every such mistake.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ...sandbox.runtime import _iclab_sql_recon as runner

__all__ = ["Txn", "Expected", "World", "Hidden", "reconcile", "make_hidden", "hidden_files", "TOLERANCE", "FIELDS",
           "COVERAGE", "VOLUME_ROWS"]

TOLERANCE = Decimal("0.01")
FIELDS = ("amount", "currency", "status", "booked_at")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK")
STATUSES = ("POSTED", "REVERSED", "PENDING", "CLEARED")
# Minutes east of UTC, other ERP entities than the fixtures': negative, half-hour (both signs),
# three-quarter-hour, the two extremes, and UTC itself (written "Z").
OFFSETS = (330, -240, 540, 600, 60, 0, -180, -210, 345, 765, -570, 840, -720)
GAPS = tuple(Decimal(g) for g in ("0.0101", "0.011", "0.02", "0.5", "12", "100.01", "0.015"))
VOLUME_ROWS = 20_000  # a side, for criterion 10: see scaling.py

# Criterion -> the edge classes its hidden data covers, and where it is made (this module).
COVERAGE = {
    1: ("source keys with a leading, a trailing and both spaces; a key missing twice — _Tables.add(), copies()",
        "NULL keys in target_txn (main), none at all (world 'source-unkeyed'), blank source keys that must not "
        "be listed — make_hidden() worlds"),
    2: ("target keys padded at the end, at the start and both — _Tables.add()",
        "NULL and blank keys only in target_txn, and NULL keys in source_txn — worlds 'target-unkeyed', main"),
    3: ("duplicated on one side, on the other, on both; 2 and 3 copies spelled with different spaces — copies()",
        "two or more blank keys on a side, which are no duplicate — worlds 'source-unkeyed', 'target-unkeyed'"),
    4: ("exactly 0.01 apart both ways, where DOUBLE says more — pair(boundary=True)",
        "0.0099 inside and 0.0101 outside, both ways, and gaps from 0.011 to 100.01 — make_hidden() near, GAPS"),
    5: ("codes in upper, lower and title case, padded before, after and both, on both sides — _Tables.messy()",
        "a different currency with equal amounts, different codes both padded — make_hidden() differ lists"),
    6: ("equal instants in offsets -12:00 to +14:00, half and three-quarter hours, negative, 'Z', across "
        "midnight — OFFSETS, make_hidden() midnight",
        "the same wall clock in another offset, one second and one day apart — pair('booked_at') shifts"),
    7: ("keys duplicated on one side or both, missing, orphaned, with differing copies — copies()",
        "NULL keys on both sides; exactly one blank (differing) or NULL (equal) key on each side, a group of one "
        "— worlds 'one-blank-each', 'all-reconciled'"),
    8: ("row, unkeyed and category counts in five worlds: unkeyed rows on both sides, one side, one each — "
        "make_hidden() worlds",
        "categories judged against the right count or the learner's own detail query — check_summary_counts()"),
    9: ("reconciled share of all distinct source keys, missing and duplicated ones included — reconcile()",
        "54.46, 57.89 (57.90 if rounded twice), 100.00 (five digits) and 30.00 — make_hidden() worlds; never a "
        "rounding tie (tested)",
        "typed DECIMAL(5, 2), as the ticket asks — check_summary_reconciled()"),
    10: ("20,000 rows a side: padded, NULL and blank keys, duplicates, 2% missing and orphaned — "
         "_iclab_sql_recon.build_volume()",
         "judged by the plan's joins and CPU time, not the wall clock — scaling.py"),
}


@dataclass(frozen=True)
class Txn:
    txn_id: str | None
    amount: Decimal
    currency: str
    status: str
    booked_at: str


@dataclass(frozen=True)
class Expected:
    missing: tuple
    orphans: tuple
    duplicates: tuple
    mismatches: tuple
    unique: frozenset   # keys present exactly once on each side: the only ones compared
    source_keys: int
    summary: dict


@dataclass(frozen=True)
class World:
    """One pair of hidden tables, its DuckDB file and everything expected from it."""

    name: str
    label: str          # "" for the main tables; else what is special, for a learner-facing reason
    source: tuple
    target: tuple
    expected: Expected
    index: dict         # trimmed key -> (source rows, target rows)

    def explain(self, row) -> str:
        """A few words of context for one diff row: the key's rows, or the two values compared."""
        key = row[0] if len(row) != 3 else row[1]
        if not isinstance(key, str):
            return ""
        src, tgt = self.index.get(key, ((), ()))
        if len(row) == 2 and len(src) == len(tgt) == 1 and row[1] in FIELDS:
            s, t = getattr(src[0], row[1]), getattr(tgt[0], row[1])
            return f"(source {s!r}, target {t!r})" if isinstance(s, str) else f"(source {s}, target {t})"
        if not src and not tgt:
            return "(an unkeyed row: NULL or blank)" if not key.strip(" ") else (
                "(no such key after trimming spaces)" if key != key.strip(" ") else "(no such key)")
        return f"(source_txn: {_n(len(src), 'row')}, target_txn: {_n(len(tgt), 'row')})"


@dataclass(frozen=True)
class Hidden:
    worlds: tuple[World, ...]

    @property
    def main(self) -> World:
        return self.worlds[0]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _key(value: str | None) -> str | None:
    return value.strip(" ") or None if value is not None else None


def _code(value: str) -> str:
    return value.strip(" ").upper()


def reconcile(source: tuple, target: tuple) -> tuple[Expected, dict]:
    """The contract, in Python: every expected result, computed independently of any SQL."""
    index: dict[str, tuple[list, list]] = {}
    for side, rows in enumerate((source, target)):
        for row in rows:
            if _key(row.txn_id) is not None:
                index.setdefault(_key(row.txn_id), ([], []))[side].append(row)
    src_keys = {k for k, (s, _) in index.items() if s}
    tgt_keys = {k for k, (_, t) in index.items() if t}
    duplicates = tuple(sorted((name, k, len(rows)) for k, pair in index.items()
                              for name, rows in zip(("source", "target"), pair) if len(rows) > 1))
    unique = frozenset(k for k, (s, t) in index.items() if len(s) == len(t) == 1)
    mismatches = []
    for k in sorted(unique):
        s, t = index[k][0][0], index[k][1][0]
        differs = (abs(s.amount - t.amount) > TOLERANCE, _code(s.currency) != _code(t.currency),
                   _code(s.status) != _code(t.status),
                   dt.datetime.fromisoformat(s.booked_at) != dt.datetime.fromisoformat(t.booked_at))
        mismatches += [(k, f) for f, d in zip(FIELDS, differs) if d]
    reconciled = len(unique) - len({k for k, _ in mismatches})
    summary = {
        "source_rows": len(source), "target_rows": len(target),
        "unkeyed_rows": sum(_key(r.txn_id) is None for r in source + target),
        "missing_in_target": len(src_keys - tgt_keys), "orphans_in_target": len(tgt_keys - src_keys),
        "duplicate_keys": len(duplicates), "mismatched_keys": len(unique) - reconciled, "reconciled_keys": reconciled,
        "reconciled_pct": (Decimal(100) * reconciled / len(src_keys)).quantize(Decimal("0.01"), ROUND_HALF_UP),
    }
    expected = Expected(tuple(sorted(src_keys - tgt_keys)), tuple(sorted(tgt_keys - src_keys)), duplicates,
                        tuple(mismatches), unique, len(src_keys), summary)
    return expected, {k: (tuple(s), tuple(t)) for k, (s, t) in index.items()}


def _stamp(instant: dt.datetime, minutes: int) -> str:
    """Local time with its offset, as the ERP exports it."""
    local = (instant + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")
    return local + ("Z" if minutes == 0 else f"{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def _cents(count: int) -> Decimal:
    return (Decimal(count) / 100).quantize(Decimal("0.01"))


def _utc(instant: dt.datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S") + "+00"


# How each side spells a key: the ERP has a stray space before, after or on both sides; the platform
# pads at the end, and an older loader of it left spaces in front.
SOURCE_KEYS = ("{}", "{}", " {}", "{} ", "  {}  ")
TARGET_KEYS = ("{}", "{}", "{}   ", "  {}", " {} ")


class _Tables:
    """Builds source and target rows scenario by scenario, with the dirt real exports have."""

    def __init__(self, rng: random.Random, prefix: str = "GL25"):
        self.rng = rng
        self.prefix = prefix
        self.source: list[Txn] = []
        self.target: list[Txn] = []
        self.keys: set[str] = set()

    def key(self) -> str:
        while (key := f"{self.prefix}-{self.rng.randrange(10 ** 6):06d}") in self.keys:
            pass
        self.keys.add(key)
        return key

    def messy(self, code: str) -> str:
        return self.rng.choice([code, code, code.lower(), f" {code}", f"{code.title()} ", f"{code}  ", f" {code.lower()} "])

    def base(self, instant: dt.datetime | None = None, offset: int | None = None) -> dict:
        rng = self.rng
        instant = instant or dt.datetime(2025, 1, 1) + dt.timedelta(seconds=rng.randrange(365 * 86400))
        return {"amount": _cents(rng.randrange(100, 5_000_000)), "currency": rng.choice(CURRENCIES),
                "status": rng.choice(STATUSES), "instant": instant,
                "offset": rng.choice(OFFSETS) if offset is None else offset}

    def add(self, side: str, key: str | None, b: dict, booked_at: str | None = None, spelling: int | None = None) -> None:
        rng = self.rng
        if key is not None and key.strip():
            forms = SOURCE_KEYS if side == "source" else TARGET_KEYS
            key = (forms[spelling % len(forms)] if spelling is not None else rng.choice(forms)).format(key)
        stamp = booked_at or (_stamp(b["instant"], b["offset"]) if side == "source" else _utc(b["instant"]))
        amount = b["amount"].quantize(Decimal("0.01" if side == "source" else "0.0001"))  # the columns' scales
        codes = (b.get("currency_as") or self.messy(b["currency"]), b.get("status_as") or self.messy(b["status"]))
        row = Txn(key, amount, codes[0], codes[1], stamp)
        (self.source if side == "source" else self.target).append(row)

    def pair(self, differ: tuple = (), boundary=False, gap: Decimal | None = None, shift: str | None = None,
             instant: dt.datetime | None = None, offset: int | None = None, **fixed) -> None:
        """A key once on each side. ``fixed`` pins the currency or status, or their source spelling (``*_as``)."""
        rng, b = self.rng, {**self.base(instant, offset), **fixed}
        drift = rng.choice([Decimal(0), Decimal(0), Decimal(rng.randrange(-99, 100)) / 10000])
        t = {k: v for k, v in b.items() if not k.endswith("_as")}  # the target spells its codes its own way
        t["amount"] = b["amount"] + (gap if gap is not None else drift)
        # Exactly 0.01 apart is inside the tolerance, and in DOUBLE these come out above 0.01.
        sign = rng.choice([TOLERANCE, -TOLERANCE]) if boundary is True else boundary
        while boundary and abs(float(b["amount"]) - float(t["amount"])) <= 0.01:
            b["amount"] = _cents(rng.randrange(100, 5_000_000))
            t["amount"] = b["amount"] + sign
        if "amount" in differ:
            t["amount"] = b["amount"] + rng.choice(GAPS) * rng.choice([1, -1])
        if "currency" in differ:
            t["currency"] = rng.choice([c for c in CURRENCIES if c != b["currency"]])
        if "status" in differ:
            t["status"] = rng.choice([s for s in STATUSES if s != b["status"]])
        stamp = None
        if "booked_at" in differ:
            b["offset"] = b["offset"] or 330
            shift = shift or rng.choice(["offset", "second", "day"])
            stamp = (_stamp(b["instant"], b["offset"]).replace("T", " ")[:19] + "+00" if shift == "offset"
                     else _utc(b["instant"] + dt.timedelta(seconds=1 if shift == "second" else 86400)))
        key = self.key()
        self.add("source", key, b)
        self.add("target", key, t, stamp)

    def copies(self, sources: int, targets: int) -> None:
        """One key on one or both sides, duplicated; later copies disagree with the first and are spelled differently."""
        key, b = self.key(), self.base()
        for side, count, gap in (("source", sources, 5), ("target", targets, 7)):
            for i in range(count):
                self.add(side, key, {**b, "amount": b["amount"] + gap * i}, spelling=i + 1)

    def unkeyed(self, side: str, keys: tuple) -> None:
        for key in keys:
            self.add(side, key, self.base())

    def world(self, name: str, label: str) -> World:
        self.rng.shuffle(self.source)
        self.rng.shuffle(self.target)
        source, target = tuple(self.source), tuple(self.target)
        expected, index = reconcile(source, target)
        return World(name, label, source, target, expected, index)


def _main(rng: random.Random) -> World:
    tables = _Tables(rng)
    for _ in range(36):
        tables.pair()
    for sign in (TOLERANCE, -TOLERANCE, TOLERANCE, -TOLERANCE, TOLERANCE, -TOLERANCE):
        tables.pair(boundary=sign)
    for gap in ("0.0099", "-0.0099", "0.0100", "-0.0100", "0.0101", "-0.0101"):  # both sides of the tolerance
        tables.pair(gap=Decimal(gap))
    for offset in (-180, -210, -570, 330, 345, 765, 840, -720):  # equal instants, local date before or after UTC's
        tables.pair(instant=dt.datetime(2025, 6, 30, 23 if offset > 0 else 0, 40), offset=offset)
    for offset, shift in ((-210, "offset"), (345, "offset"), (-720, "offset"), (840, "second"), (0, "day")):
        tables.pair(("booked_at",), shift=shift, offset=offset)
    # Codes that differ only in spelling are equal; different codes are a mismatch however they are spelled.
    tables.pair(currency="USD", status="POSTED", currency_as=" usd", status_as="Posted ")
    tables.pair(("currency",), currency="EUR", currency_as=" eur ")
    tables.pair(("status",), status="PENDING", status_as="pending")
    for differ in [("amount",)] * 7 + [("currency",)] * 4 + [("status",)] * 4 + [("booked_at",)] * 5 + [
            ("amount", "status"), ("currency", "booked_at"), FIELDS]:
        tables.pair(differ)
    for sources, targets in ((1, 0),) * 6 + ((2, 0), (0, 1), (0, 1), (0, 1), (0, 1), (0, 2),
                                             (2, 1), (3, 1), (2, 1), (1, 2), (1, 3), (2, 2), (3, 3)):
        tables.copies(sources, targets)
    tables.unkeyed("source", (None, None, "", "   "))
    tables.unkeyed("target", (None, None, None, " ", ""))
    return tables.world("main", "")


SMALL_PAIRS = ((), (), (), ("amount",), ("currency",), ("status", "booked_at"))
SMALL_COPIES = ((1, 0), (1, 0), (0, 1), (2, 1), (1, 2))


def _small(rng: random.Random, name: str, label: str, prefix: str, source_unkeyed: tuple = (),
           target_unkeyed: tuple = (), unkeyed_pair: tuple = (), pairs=SMALL_PAIRS, copies=SMALL_COPIES) -> World:
    """A few rows of every category, and unkeyed rows only where ``name`` says.

    ``unkeyed_pair``: one unkeyed row on each side, spelled so, with the same values or not (a third
    item, "differ"): a query that forgets to drop unkeyed rows pairs and compares them.
    """
    tables = _Tables(rng, prefix)
    for differ in pairs:
        tables.pair(differ)
    for sources, targets in copies:
        tables.copies(sources, targets)
    tables.unkeyed("source", source_unkeyed)
    tables.unkeyed("target", target_unkeyed)
    if unkeyed_pair:
        b = tables.base()
        other = {"amount": b["amount"] + 3, "currency": "SEK" if b["currency"] != "SEK" else "NOK"}
        tables.add("source", unkeyed_pair[0], b)
        tables.add("target", unkeyed_pair[1], {**b, **(other if unkeyed_pair[2:] == ("differ",) else {})})
    return tables.world(name, label)


def make_hidden(rng: random.Random) -> Hidden:
    return Hidden((
        _main(rng),
        # 11 of 19 source keys reconcile: 57.8947...%, which rounded to 3 decimals first would end in 5
        # and round up to 57.90 (double rounding); the right answer is 57.89.
        _small(rng, "source-unkeyed", "on tables whose only unkeyed rows are in source_txn", "SU25",
               source_unkeyed=(None, "", "   ", " "),
               pairs=((),) * 11 + (("amount",), ("currency",), ("status", "booked_at"), ("booked_at",))),
        _small(rng, "target-unkeyed", "on tables whose only unkeyed rows are in target_txn", "TU25",
               target_unkeyed=(None, "", "  ", " ")),
        _small(rng, "one-blank-each", "on tables with exactly one blank key on each side", "OB25",
               unkeyed_pair=("  ", "", "differ")),
        # Every source key reconciles (100.00%, which needs all five digits of DECIMAL(5, 2)); the one
        # NULL key on each side carries the same values, and is still no key.
        _small(rng, "all-reconciled", "on tables where every source key reconciles", "AR25",
               unkeyed_pair=(None, None), pairs=((),) * 6, copies=((0, 1),)),
    ))


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """The hidden rows as JSON; the trusted runner builds each world's DuckDB file from it in the child.

    Built there, not here: the grader needs no DuckDB of its own (half a second to import), and the
    child, which runs nothing of the learner's but SQL, builds the files before any query runs.
    """
    def rows(txns):
        return [[t.txn_id, str(t.amount), t.currency, t.status, t.booked_at] for t in txns]

    spec = {"volume_rows": VOLUME_ROWS,
            "worlds": {w.name: {"source": rows(w.source), "target": rows(w.target)} for w in data.worlds}}
    return {runner.SPEC: json.dumps(spec, ensure_ascii=False, sort_keys=True).encode()}
