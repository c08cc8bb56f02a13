"""Load the nightly order file: validate, reconcile, write canonical JSON Lines.

The records are read into a list first, so the trailer is known before
anything is written.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import os
import re
from decimal import Decimal
from pathlib import Path

__all__ = ["process_file"]

HEADER = ["order_id", "order_date", "customer_name", "amount", "note"]
TRAILER_TAG = "TRL"

# [0-9] rather than \d: \d also matches non-ASCII digits such as "٣".
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]+")
_CENT = Decimal("0.01")
# Small chunks keep the encoding pass's memory tiny: a chunk of bytes plus its decoded text.
_CHUNK = 64 * 1024


def choose_encoding(path: str, hint: str | None) -> str:
    """The codec to read ``path`` with, following the contract's rule.

    A hint wins. Otherwise a UTF-8 byte-order mark means UTF-8; a file that
    decodes as UTF-8 from start to end is UTF-8; anything else is Latin-1.
    The whole file is checked, because the first Latin-1 byte may sit in the
    last record.
    """
    if hint is not None:
        codec = {"utf-8": "utf-8-sig", "latin-1": "latin-1"}.get(hint.lower())
        if codec is None:
            raise ValueError(f"encoding_hint must be None, 'utf-8' or 'latin-1', not {hint!r}")
        return codec
    with open(path, "rb") as handle:
        head = handle.read(len(codecs.BOM_UTF8))
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            decoder.decode(head)
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


@functools.lru_cache(maxsize=4096)  # a nightly file repeats a few hundred dates many times
def _valid_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_record(fields: list[str]) -> tuple[dict | None, str | None, Decimal | None]:
    """Validate one data record: (canonical record or None, reject code or None, amount for the total)."""
    if len(fields) != len(HEADER):
        return None, "FIELD_COUNT", None
    order_id, order_date, customer_name, amount_text, note = [field.strip() for field in fields]
    amount = Decimal(amount_text) if _AMOUNT.fullmatch(amount_text) else None
    if not (order_id and order_date and customer_name and amount_text):
        return None, "MISSING_VALUE", amount
    if not _valid_date(order_date):
        return None, "INVALID_DATE", amount
    if amount is None:
        return None, "INVALID_AMOUNT", None
    record = {
        "amount": str(amount.quantize(_CENT)),
        "customer_name": customer_name,
        "note": note or None,
        "order_date": order_date,
        "order_id": order_id,
    }
    return record, None, amount


# One encoder for every line: json.dumps() with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _canonical(record: dict) -> str:
    """One line of canonical JSON: sorted keys, no spaces, UTF-8 text, newline-terminated."""
    return _ENCODER.encode(record) + "\n"


def _trailer_problem(fields: list[str], rows: int, total: Decimal) -> str | None:
    """The refusal code for the trailer record, or None when it reconciles."""
    if fields[0].strip() != TRAILER_TAG:
        return "MISSING_TRAILER"
    cells = [field.strip() for field in fields]
    if len(cells) != 3 or not _COUNT.fullmatch(cells[1]) or not _AMOUNT.fullmatch(cells[2]):
        return "BAD_TRAILER"
    if int(cells[1]) != rows:
        return "COUNT_MISMATCH"
    if Decimal(cells[2]) != total:
        return "TOTAL_MISMATCH"
    return None


def _load(source, accepted, rejects, stats: dict) -> str | None:
    """Stream ``source`` into the two outputs; return a refusal code or None."""
    reader = csv.reader(source)  # the default dialect: comma, '"' quoting, "" for a quote
    header = next(reader, None)
    if header is None or [name.strip() for name in header] != HEADER:
        return "BAD_HEADER"
    total = Decimal(0)
    records = []
    start = reader.line_num + 1  # physical line where the next record starts
    for fields in reader:
        line, start = start, reader.line_num + 1
        if "".join(fields).strip():
            records.append((fields, line))
    if not records:
        return "MISSING_TRAILER"
    pending = records.pop()
    for fields, line in records:
        total += _data_record(fields, line, accepted, rejects, stats)
    problem = _trailer_problem(pending[0], stats["rows"], total)
    if problem == "MISSING_TRAILER":
        _data_record(*pending, accepted, rejects, stats)  # it was data; report it like any other
    return problem


def _data_record(fields: list[str], line: int, accepted, rejects, stats: dict) -> Decimal:
    """Write one data record to accepted or rejects; return what it adds to the control total."""
    stats["rows"] += 1
    record, code, amount = check_record(fields)
    if record is not None:
        accepted.write(_canonical(record))
        stats["accepted"] += 1
    else:
        rejects.write(_canonical({"code": code, "line": line}))
        stats["rejected"] += 1
    return amount if amount is not None else Decimal(0)


def process_file(path: str, out_dir: str, encoding_hint: str | None = None) -> dict:
    """Load one nightly file into ``out_dir``; see README.md for the contract."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / "accepted.jsonl"
    partial = out / "accepted.jsonl.part"
    stats = {"rows": 0, "accepted": 0, "rejected": 0}
    reason = None
    try:
        encoding = choose_encoding(path, encoding_hint)
        with open(path, encoding=encoding, newline="") as source, \
                open(partial, "w", encoding="utf-8", newline="\n") as accepted, \
                open(out / "rejects.jsonl", "w", encoding="utf-8", newline="\n") as rejects:
            try:
                reason = _load(source, accepted, rejects, stats)
            except UnicodeDecodeError:
                reason = "BAD_ENCODING"
        if reason is None:
            os.replace(partial, final)
        else:
            final.unlink(missing_ok=True)  # a stale load from an earlier run must not look like this one
            stats["accepted"] = 0
    finally:
        partial.unlink(missing_ok=True)
    return {**stats, "refused": reason is not None, "reason": reason}
