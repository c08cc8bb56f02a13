"""The oracle: the file contract, used only to compute what process_file must produce for given bytes."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["HEADER", "Expected", "oracle"]

HEADER = ("order_id", "order_date", "customer_name", "amount", "note")
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Expected:
    refused: bool
    reason: str | None
    accepted: tuple  # canonical records (dicts), in file order; empty when refused
    rejects: tuple  # (line, code) in file order


def _decode(raw: bytes, hint: str | None) -> str | None:
    if hint == "latin-1":
        return raw.decode("latin-1")
    if hint == "utf-8" or raw.startswith(codecs.BOM_UTF8):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _record(fields: list[str]):
    """(canonical record or None, reject code or None, what the record adds to the control total)."""
    if len(fields) != len(HEADER):
        return None, "FIELD_COUNT", Decimal(0)
    order_id, date, name, amount, note = (f.strip() for f in fields)
    value = Decimal(amount) if _AMOUNT.fullmatch(amount) else None
    counted = value if value is not None else Decimal(0)
    if not (order_id and date and name and amount):
        return None, "MISSING_VALUE", counted
    try:
        real_date = bool(_DATE.fullmatch(date)) and bool(dt.date.fromisoformat(date))
    except ValueError:
        real_date = False
    if not real_date:
        return None, "INVALID_DATE", counted
    if value is None:
        return None, "INVALID_AMOUNT", counted
    return ({"amount": str(value.quantize(Decimal("0.01"))), "customer_name": name, "note": note or None,
             "order_date": date, "order_id": order_id}, None, value)


def _trailer(fields, rows: int, total: Decimal) -> str | None:
    if fields is None:
        return "MISSING_TRAILER"
    cells = [f.strip() for f in fields]
    if len(cells) != 3 or not cells[1].isascii() or not cells[1].isdigit() or not _AMOUNT.fullmatch(cells[2]):
        return "BAD_TRAILER"
    if int(cells[1]) != rows:
        return "COUNT_MISMATCH"
    return "TOTAL_MISMATCH" if Decimal(cells[2]) != total else None


def oracle(raw: bytes, hint: str | None = None) -> Expected:
    """What process_file must produce for a file's bytes."""
    text = _decode(raw, hint)
    if text is None:
        return Expected(True, "BAD_ENCODING", (), ())
    reader = csv.reader(io.StringIO(text, newline=""))
    if [h.strip() for h in next(reader, [])] != list(HEADER):
        return Expected(True, "BAD_HEADER", (), ())
    records, start = [], reader.line_num + 1
    for fields in reader:
        line, start = start, reader.line_num + 1
        if any(f.strip() for f in fields):
            records.append((line, fields))
    trailer = records.pop()[1] if records and records[-1][1][0].strip() == "TRL" else None
    accepted, rejects, total = [], [], Decimal(0)
    for line, fields in records:
        record, code, amount = _record(fields)
        total += amount
        if record:
            accepted.append(record)
        else:
            rejects.append((line, code))
    reason = _trailer(trailer, len(records), total)
    return Expected(reason is not None, reason, () if reason else tuple(accepted), tuple(rejects))
