"""The hidden order files, generated from the grader's seed: one trap per file, plus one large file."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from .oracle import HEADER, _record

__all__ = ["LARGE_ROWS", "Case", "Hidden", "make_hidden", "hidden_files"]

LARGE_ROWS = 120_000  # about 6 MB: reading it whole grows memory by 10 MB or more
ASCII_NAMES = ["Harrow Tool Hire", "Pelican Office Supply", "Driftwood Cafe", "Summit Ridge Outdoor", "Cobalt Labs",
               "Wren & Rook Books", "Meadowlark Dairy", "Ironbridge Motors", "Foxglove Florists", "Basalt Coffee"]
LATIN1_NAMES = ["Bäckerei Größl", "Café Añoranza", "Ørbæk Fiskehus", "Château Léoville", "Åkesson & Søn",
                "Crème Brûlée Co", "Müllerhof Käserei", "Pâtisserie Noël"]
WIDE_NAMES = ["Łódź Trading", "Dvořák Pianos", "Şahin Tekstil", "Őrség Méz", "Nguyễn Imports", "Žilina Steel"]
NOTES = ["", "", "", "ring twice", "pallet delivery", "fragile", "  ", "invoice by post"]


@dataclass(frozen=True)
class Case:
    key: str
    path: str
    raw: bytes
    hint: str | None
    about: str  # one line for evidence: what is special about this file


@dataclass(frozen=True)
class Hidden:
    cases: tuple[Case, ...]
    large: bytes

    def case(self, key: str) -> Case:
        return next(c for c in self.cases if c.key == key)


def _row(rng: random.Random, names: list[str], messy: bool = False) -> list[str]:
    """One valid record. Only ``messy`` rows (the accepted-records file) pad values or shorten amounts,
    so a mistake in trimming or amount formatting costs that check and not every file's check."""
    date = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(360))
    cents = -rng.randrange(100, 20_000) if rng.random() < 0.1 else rng.randrange(50, 999_999)
    amount = f"{Decimal(cents).scaleb(-2):.2f}"
    if messy and rng.random() < 0.3:
        amount = amount.rstrip("0").rstrip(".")  # "12.5", "1200": still two decimals once loaded
    fields = [f"{rng.choice(['NX', 'PO', 'QR', 'ZT'])}{rng.randrange(10**7):07d}", date.isoformat(),
              rng.choice(names), amount, rng.choice(NOTES)]
    return [f" {f} " if messy and f.strip() and rng.random() < 0.25 else f for f in fields]


def _quote(field: str, force: bool = False) -> str:
    if force or any(ch in field for ch in ',"\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def _text(rows: list, *, header: str = ",".join(HEADER), eol: str = "\n", trailer: str | None = "auto") -> str:
    """A file: header, rows, then the trailer (``trailer=None`` leaves it out).

    A row is a list of fields (quoted where needed), a tuple (every field quoted) or a raw line (str).
    """
    data = [r for r in rows if not isinstance(r, str)]
    if trailer == "auto":
        total = sum((_record(list(r))[2] for r in data), Decimal(0))
        trailer = f"TRL,{len(data)},{total:.2f}"
    lines = [header] + [r if isinstance(r, str) else ",".join(_quote(f, type(r) is tuple) for f in r) for r in rows]
    return eol.join(lines + ([trailer] if trailer is not None else [])) + eol


def _rows(rng, n, names, messy=False):
    return [_row(rng, names, messy) for _ in range(n)]


def _quoted_rows(rng: random.Random) -> list:
    """Valid records with commas, doubled quotes and line breaks inside quoted fields."""
    rows = _rows(rng, 14, ASCII_NAMES)
    rows[1][2] = "Hall, Sons & Daughters"
    rows[3][2] = 'The "Blue Door" Bistro'
    rows[4][4] = "deliver to gate 4\nafter 6 pm, ask for Sam"
    rows[6][2] = "Nordic Parts AB\nDept. 7"
    rows[8][4] = 'said "urgent",\ntwice\n\nthen hung up'
    rows[9][4] = ""
    rows[11] = tuple(rows[11])
    return rows


def _multiline_rows(rng: random.Random) -> list:
    """Rejects right after (and inside) records that span several lines."""
    rows = _rows(rng, 10, ASCII_NAMES)
    rows[1][4] = "back door\nnot the shop"
    rows[3][2] = "Fjord Supply AS\nLager 3"
    rows[5][4] = 'two\n\n"blank" lines'
    bad_date, bad_name, bad_amount = _row(rng, ASCII_NAMES), _row(rng, ASCII_NAMES), _row(rng, ASCII_NAMES)
    bad_date[1] = "2025-04-31"
    bad_name[2] = ""
    bad_amount[3], bad_amount[4] = "1,250.00", "split over\ntwo lines"
    return rows[:2] + [bad_date] + rows[2:6] + [bad_name, bad_amount] + rows[6:]


def _reject_rows(rng: random.Random) -> list:
    rows = _rows(rng, 22, ASCII_NAMES)
    bad = [_row(rng, ASCII_NAMES) for _ in range(9)]
    bad[0] = bad[0][:4]                                              # FIELD_COUNT: the note column is missing
    bad[1][2:3] = ["Hall", " Sons & Co"]                             # FIELD_COUNT: an unquoted comma in a name
    bad[2][0], bad[3][3] = "", ""                                    # MISSING_VALUE
    bad[4][1], bad[5][1] = "2025-02-29", "24/11/2025"                # INVALID_DATE
    bad[6][3], bad[7][3], bad[8][3] = "12.345", "EUR 45.00", "--5"   # INVALID_AMOUNT
    for i, row in enumerate(bad):
        rows.insert(2 + 3 * i, row)
    rows.insert(9, "")
    rows.insert(17, "   ")
    return rows


def make_hidden(rng: random.Random) -> Hidden:
    cases: list[Case] = []

    def add(key, text, about, hint=None, encoding="utf-8"):
        raw = text if isinstance(text, bytes) else text.encode(encoding)
        cases.append(Case(key, f"inbox/ORD_20251124_{len(cases) + 1:02d}.csv", raw, hint, about))

    add("plain", _text(_rows(rng, 24, ASCII_NAMES + LATIN1_NAMES, messy=True)), "UTF-8, padded values, short amounts")
    add("canonical", _text(_rows(rng, 12, LATIN1_NAMES + WIDE_NAMES)), "UTF-8 names, clean values")
    add("bom", "\ufeff" + _text(_rows(rng, 16, WIDE_NAMES + LATIN1_NAMES), eol="\r\n"), "UTF-8 with a BOM, CRLF")
    ascii_part = _rows(rng, 95, ASCII_NAMES)  # the first Latin-1 byte comes after 4 KB
    add("latin1", _text(ascii_part + _rows(rng, 20, LATIN1_NAMES)), "Latin-1, accents only after 4 KB",
        encoding="latin-1")
    bad = _text(_rows(rng, 40, ASCII_NAMES)).splitlines(keepends=True)
    bad[31] = bad[31].replace(bad[31].split(",")[2], "Sébastien Goulet")
    add("hint-bad", "".join(bad[:31]).encode() + bad[31].encode("latin-1") + "".join(bad[32:]).encode(),
        "declared UTF-8, one Latin-1 byte on line 32", hint="utf-8")
    add("hint-latin1", _text(_rows(rng, 10, LATIN1_NAMES)), "declared Latin-1", hint="latin-1", encoding="latin-1")
    add("quoted", _text(_quoted_rows(rng)), "quoted fields: commas, doubled quotes, line breaks")
    add("multiline", _text(_multiline_rows(rng)), "rejects after records that span several lines")
    add("rejects", _text(_reject_rows(rng)), "bad rows and blank lines, no quoting")
    spaces = _rows(rng, 6, ASCII_NAMES)
    spaces[2][2], spaces[4][3] = "   ", " \t "  # only whitespace counts as missing
    add("spaces", _text(spaces), "values made only of spaces")
    add("blank-tail", _text(_rows(rng, 12, ASCII_NAMES)) + "\n   \n\t\n,,,,,\n\n", "blank lines after the trailer")
    rows = _rows(rng, 15, ASCII_NAMES)
    total = sum((_record(r)[2] for r in rows), Decimal(0))
    add("trl-count", _text(rows, trailer=f"TRL,16,{total:.2f}"), "trailer counts 16 records, the file has 15")
    add("trl-total", _text(rows, trailer=f"TRL,15,{total + 90:.2f}"), "trailer total is 90.00 too high")
    add("trl-missing", _text(_rows(rng, 20, ASCII_NAMES), trailer=None)[:-25], "file cut off mid-record, no trailer")
    add("trl-bad", _text(rows, trailer="TRL,15"), "trailer without its amount total")
    add("trl-control", _text(rows), "the same 15 records with a correct trailer (control)")
    swapped = [[r[0], r[1], r[3], r[2], r[4]] for r in _rows(rng, 8, ASCII_NAMES)]
    add("hdr-swapped", _text(swapped, header="order_id,order_date,amount,customer_name,note"),
        "amount and customer_name swapped")
    add("hdr-renamed", _text(_rows(rng, 8, ASCII_NAMES), header="order_no,order_date,customer_name,amount,note"),
        "order_id renamed order_no")
    add("hdr-missing", _text([r[:4] for r in _rows(rng, 8, ASCII_NAMES)], header=",".join(HEADER[:4])),
        "no note column")
    no_header = _text(_rows(rng, 8, ASCII_NAMES))
    add("hdr-none", no_header.split("\n", 1)[1], "no header line at all")
    add("hdr-padded", _text(_rows(rng, 8, ASCII_NAMES), header=" order_id , order_date,customer_name ,amount , note"),
        "header names padded with spaces (valid)")
    return Hidden(tuple(cases), _large(rng))


def _large(rng: random.Random) -> bytes:
    """LARGE_ROWS valid records: one random block repeated with fresh order ids (fast to build)."""
    block = _rows(rng, 1000, ASCII_NAMES + LATIN1_NAMES)
    total = sum((_record(r)[2] for r in block), Decimal(0)) * (LARGE_ROWS // 1000)
    lines = [",".join(HEADER)]
    for n in range(LARGE_ROWS // 1000):
        lines += [f"LG{n:03d}{i:04d}," + ",".join(r[1:]) for i, r in enumerate(block)]
    return "\n".join(lines + [f"TRL,{LARGE_ROWS},{total:.2f}", ""]).encode()


def hidden_files(data: Hidden) -> dict[str, bytes]:
    return {case.path: case.raw for case in data.cases}
