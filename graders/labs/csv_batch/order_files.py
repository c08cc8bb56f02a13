"""The hidden order files, generated from the grader's seed: one trap per file, plus one large file.

Each file is built for one acceptance criterion and covers one of its edge
classes (the grader's ``COVERAGE`` names them, file by file). Everything else
in a file is ordinary, so a mistake costs the check about that criterion.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from .oracle import HEADER, _record

__all__ = ["COVERAGE", "LARGE_ROWS", "Case", "Hidden", "make_hidden", "hidden_files", "PRESET_DIRS"]

LARGE_ROWS = 120_000  # about 6 MB: reading it whole grows memory by 10 MB or more
ASCII_NAMES = ["Harrow Tool Hire", "Pelican Office Supply", "Driftwood Cafe", "Summit Ridge Outdoor", "Cobalt Labs",
               "Wren & Rook Books", "Meadowlark Dairy", "Ironbridge Motors", "Foxglove Florists", "Basalt Coffee"]
LATIN1_NAMES = ["Bäckerei Größl", "Café Añoranza", "Ørbæk Fiskehus", "Château Léoville", "Åkesson & Søn",
                "Crème Brûlée Co", "Müllerhof Käserei", "Pâtisserie Noël"]
WIDE_NAMES = ["Łódź Trading", "Dvořák Pianos", "Şahin Tekstil", "Őrség Méz", "Nguyễn Imports", "Žilina Steel"]
# Lower-case accents only: read as Latin-1, their UTF-8 bytes become printable text ("CafÃ©"), not C1 controls.
PLAIN_ACCENTS = ["Café Añoranza", "Château Léoville", "Crème Brûlée Co", "Pâtisserie Noël", "Müllerhof Käserei"]
NOTES = ["", "", "", "ring twice", "pallet delivery", "fragile", "  ", "invoice by post"]
# Output folders that already exist when process_file is called ("created if it does not exist").
PRESET_DIRS = ("out/plain",)


# Criterion -> the edge classes its hidden files cover, and where they are made (here).
COVERAGE = {
    1: ("columns swapped, renamed, missing, extra, other case, no header line, an empty file — make_hidden() hdr-*",
        "names padded with spaces (valid), and a German Latin-1 layout — hdr-padded, latin1-head"),
    2: ("BOM with CRLF, BOM declared UTF-8 — bom, bom-hinted",
        "first Latin-1 byte after 4 KB, in the 2nd byte, as the very last byte — latin1, latin1-head, latin1-tail",
        "hint UTF-8 with a bad byte early and in the last record; hint Latin-1 on Latin-1 and on valid UTF-8 bytes "
        "— hint-bad, enc-late, hint-latin1, hint-latin1-utf8"),
    3: ("commas, doubled quotes, \\n inside quotes, every field quoted — _quoted_rows()",
        "CRLF file with \\r\\n inside quotes, spaces inside quotes, an empty quoted note, a lone quote "
        "— _quoted_crlf_rows()"),
    4: ("blank line right after the header and between records — blank-tail, _reject_rows()",
        "after the trailer: empty, spaces, a tab, ',,,,,', ' , , , , ' — blank-tail"),
    5: ("padded values, '12.5', '1200', '-3', '-0.5', '0.05', 20 digits, empty and spaced notes — _plain_rows()",
        "quote, backslash, tab, accents, other scripts and an emoji to encode — _canonical_rows()",
        "an out_dir that already exists — PRESET_DIRS"),
    6: ("every code in several forms, the first record (line 2) and the last one rejected — _BAD, _reject_rows()",
        "two or three problems in one record: the first in the contract's order wins — _BAD",
        "values of only whitespace; rejects after multi-line records and blank lines — spaces, _multiline_rows()"),
    7: ("count one over and one under, total 90.00 over and 0.01 under, both wrong — trl-count*, trl-total*, trl-both",
        "no trailer: cut mid-record, after a whole record, header only; malformed: 2 or 4 fields, '15.0', 3 decimals "
        "— trl-missing, trl-cut-clean, trl-header-only, trl-bad*, trl-four",
        "valid: padded fields, '1234.5' for 1234.50, a negative total, zero records; rejects counted — trl-padded, "
        "trl-short-total, trl-negative, trl-zero, rejects"),
    8: ("every trailer refusal, after records were written — trl-*",
        "a bad byte found in the last record, past the first 8 KB read — enc-late"),
    9: ("files that load with rejects, with blank lines, with every record rejected, with none — summaries probe",
        "files refused by the trailer and by the header — trl-total, hdr-renamed"),
    10: ("a 6 MB UTF-8 file with accents: holding its bytes or text grows memory past 5 MB — _large()",
         "measured by the grader from the kernel (VmHWM of the child's processes), after one small file — _probe_large()"),
}


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
    warm: bytes  # a small valid file, loaded once before the large one is measured

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
    if force or any(ch in field for ch in ',"\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


def _total(rows: list) -> Decimal:
    return sum((_record(list(r))[2] for r in rows if not isinstance(r, str)), Decimal(0))


def _text(rows: list, *, header: str = ",".join(HEADER), eol: str = "\n", trailer: str | None = "auto") -> str:
    """A file: header, rows, then the trailer (``trailer=None`` leaves it out).

    A row is a list of fields (quoted where needed), a tuple (every field quoted) or a raw line (str).
    """
    data = [r for r in rows if not isinstance(r, str)]
    if trailer == "auto":
        trailer = f"TRL,{len(data)},{_total(data):.2f}"
    lines = [header] + [r if isinstance(r, str) else ",".join(_quote(f, type(r) is tuple) for f in r) for r in rows]
    return eol.join(lines + ([trailer] if trailer is not None else [])) + eol


def _rows(rng, n, names, messy=False):
    return [_row(rng, names, messy) for _ in range(n)]


def _plain_rows(rng: random.Random) -> list:
    """Valid records with padded values and short amounts, plus the amount forms the contract names."""
    rows = _rows(rng, 24, ASCII_NAMES + LATIN1_NAMES, messy=True)
    for i, amount in zip((3, 8, 13, 18, 21), ("-3", "0.05", "-0.5", "123456789012345678.90", " 1200 ")):
        rows[i][3] = amount  # negative whole, a few cents, negative half, 20 digits (no float keeps them), padded
    rows[5][4] = "  leave at the back door  "  # inner spaces kept, outer ones trimmed
    return rows


def _canonical_rows(rng: random.Random) -> list:
    """Names and notes that JSON must escape (quote, backslash, tab) or keep as UTF-8 (accents, emoji)."""
    rows = _rows(rng, 12, LATIN1_NAMES + WIDE_NAMES)
    rows[2][2] = 'O"Neill & Co'
    rows[4][2] = "Back\\Slash Records"
    rows[6][4] = "gate\tB"
    rows[9][4] = "thanks 🙂"
    return rows


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


def _quoted_crlf_rows(rng: random.Random) -> list:
    """A file saved with Windows line endings: the line breaks inside quoted fields are \\r\\n too."""
    rows = _rows(rng, 10, ASCII_NAMES)
    rows[0][4] = "first line\r\nsecond line"       # a quoted field in the first record
    rows[2][2] = "  Quayside, Marine  "            # spaces inside the quotes are trimmed like any others
    rows[3] = tuple(rows[3][:4] + [""])            # every field quoted, the note an empty quoted field
    rows[5][4] = '"'                               # a note that is a single quote character
    rows[9][2] = "Harbour Lights\r\nUnit 4"        # a quoted field in the last record
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


# (fields to change, what makes the record bad): every reason code, several forms of each, and
# records with two or three problems, whose code is the first in the contract's order.
_BAD = (
    ({0: "", 1: "31/12/2025", 3: "abc"}, "MISSING_VALUE before INVALID_DATE and INVALID_AMOUNT"),  # first record: line 2
    ("cut", "FIELD_COUNT: the note column is missing"),
    ("comma", "FIELD_COUNT: an unquoted comma in a name"),
    ("extra", "FIELD_COUNT: a trailing comma makes six fields, the sixth empty"),
    ("single", "FIELD_COUNT: one field"),
    ({0: ""}, "MISSING_VALUE: no order_id"),
    ({1: ""}, "MISSING_VALUE: no order_date"),
    ({3: ""}, "MISSING_VALUE: no amount"),
    ({2: "", 3: "12.345"}, "MISSING_VALUE before INVALID_AMOUNT"),
    ({1: "2025-02-29"}, "INVALID_DATE: not a leap year"),
    ({1: "24/11/2025"}, "INVALID_DATE: another format"),
    ({1: "20251124"}, "INVALID_DATE: digits without dashes (fromisoformat accepts them)"),
    ({1: "2025-1-05"}, "INVALID_DATE: month without its zero"),
    ({1: "2025-13-01", 3: "--5"}, "INVALID_DATE before INVALID_AMOUNT"),
    ({3: "12.345"}, "INVALID_AMOUNT: three decimals"),
    ({3: "EUR 45.00"}, "INVALID_AMOUNT: a currency code"),
    ({3: "--5"}, "INVALID_AMOUNT: two signs"),
    ({3: "+5"}, "INVALID_AMOUNT: a plus sign"),
    ({3: ".5"}, "INVALID_AMOUNT: no digit before the point"),
    ({3: "12."}, "INVALID_AMOUNT: no digit after the point"),
    ({3: "1e3"}, "INVALID_AMOUNT: an exponent (Decimal accepts it)"),
    ({3: "NaN"}, "INVALID_AMOUNT: NaN (Decimal accepts it)"),
    ({3: "١٢"}, "INVALID_AMOUNT: Arabic-Indic digits (Decimal accepts them)"),
)


def _bad_row(rng: random.Random, change) -> list | str:
    row = _row(rng, ASCII_NAMES)
    if change == "cut":
        return row[:4]
    if change == "comma":
        return row[:2] + ["Hall", " Sons & Co"] + row[3:]
    if change == "extra":
        return row + [""]
    if change == "single":
        return ["see attached list"]
    for i, value in change.items():
        row[i] = value
    return row


def _reject_rows(rng: random.Random) -> list:
    """Bad records of every kind between good ones, the first one on line 2; blank lines in between."""
    good = _rows(rng, 22, ASCII_NAMES)
    rows = [_bad_row(rng, _BAD[0][0])]
    for i, (change, _) in enumerate(_BAD[1:]):
        rows += [good[i]] if i < len(good) else []
        rows.append(_bad_row(rng, change))
    rows += good[len(_BAD) - 1:]
    rows.insert(9, "")
    rows.insert(17, "   ")
    return rows


def _balanced(rng: random.Random, n: int) -> list:
    """n valid rows whose amounts add up to a whole number of tens of cents (so 'x.y0' may be written 'x.y')."""
    rows = _rows(rng, n, ASCII_NAMES)
    cents = int(_total(rows) * 100) % 10
    rows[-1][3] = f"{Decimal(rows[-1][3]) - Decimal(cents) / 100:.2f}"
    return rows


def make_hidden(rng: random.Random) -> Hidden:
    cases: list[Case] = []

    def add(key, text, about, hint=None, encoding="utf-8"):
        raw = text if isinstance(text, bytes) else text.encode(encoding)
        cases.append(Case(key, f"inbox/ORD_20251124_{len(cases) + 1:02d}.csv", raw, hint, about))

    # Criterion 5: the canonical values and form.
    add("plain", _text(_plain_rows(rng)), "UTF-8, padded values, short and long amounts, out_dir already there")
    add("canonical", _text(_canonical_rows(rng)), "UTF-8 names, quotes, backslash, tab and emoji to encode")
    # Criterion 2: the encoding rule.
    add("bom", "\ufeff" + _text(_rows(rng, 16, WIDE_NAMES + LATIN1_NAMES), eol="\r\n"), "UTF-8 with a BOM, CRLF")
    add("bom-hinted", "\ufeff" + _text(_rows(rng, 8, WIDE_NAMES)), "UTF-8 with a BOM, declared UTF-8", hint="utf-8")
    ascii_part = _rows(rng, 95, ASCII_NAMES)  # the first Latin-1 byte comes after 4 KB
    add("latin1", _text(ascii_part + _rows(rng, 20, LATIN1_NAMES)), "Latin-1, accents only after 4 KB",
        encoding="latin-1")
    add("latin1-head", _text(_rows(rng, 6, ASCII_NAMES), header="Nº,Datum,Kunde,Betrag,Notiz"),
        "Latin-1, its only accent in the 2nd byte: a German layout", encoding="latin-1")
    cut = _text(_rows(rng, 9, ASCII_NAMES), trailer=None) + "ZT0041977,2025-03-04,Caf"
    add("latin1-tail", cut.encode("ascii") + "é".encode("latin-1"),
        "Latin-1 cut off in transfer, its only accent the very last byte")
    bad = _text(_rows(rng, 40, ASCII_NAMES)).splitlines(keepends=True)
    bad[31] = bad[31].replace(bad[31].split(",")[2], "Sébastien Goulet")
    add("hint-bad", "".join(bad[:31]).encode() + bad[31].encode("latin-1") + "".join(bad[32:]).encode(),
        "declared UTF-8, one Latin-1 byte on line 32", hint="utf-8")
    add("hint-latin1", _text(_rows(rng, 10, LATIN1_NAMES)), "declared Latin-1", hint="latin-1", encoding="latin-1")
    add("hint-latin1-utf8", _text(_rows(rng, 8, PLAIN_ACCENTS)), "declared Latin-1, yet valid UTF-8: the hint wins",
        hint="latin-1")
    # Criterion 3: CSV quoting.
    add("quoted", _text(_quoted_rows(rng)), "quoted fields: commas, doubled quotes, line breaks")
    add("quoted-crlf", _text(_quoted_crlf_rows(rng), eol="\r\n"), "CRLF file: \\r\\n inside quoted fields")
    # Criterion 6: reject codes and line numbers.
    add("multiline", _text(_multiline_rows(rng)), "rejects after records that span several lines")
    add("rejects", _text(_reject_rows(rng)), "bad rows of every kind and blank lines, no quoting")
    spaces = _rows(rng, 6, ASCII_NAMES)
    spaces[1][1], spaces[2][2], spaces[4][3] = "  ", "   ", " \t "  # only whitespace counts as missing
    add("spaces", _text(spaces), "values made only of spaces")
    # Criterion 4: blank records.
    # No quoted blank record here ('"",""'): telling it blank needs CSV parsing, criterion 3's business.
    add("blank-tail", _text([""] + _rows(rng, 12, ASCII_NAMES)) + "\n   \n\t\n,,,,,\n , , , , \n\n",
        "blank records after the header and after the trailer")
    # Criteria 7 and 8: the trailer, and nothing loaded from a refused file.
    rows = _balanced(rng, 15)
    total = _total(rows)
    add("trl-count", _text(rows, trailer=f"TRL,16,{total:.2f}"), "trailer counts 16 records, the file has 15")
    add("trl-count-low", _text(rows, trailer=f"TRL,14,{total:.2f}"), "trailer counts 14 records, the file has 15")
    add("trl-total", _text(rows, trailer=f"TRL,15,{total + 90:.2f}"), "trailer total is 90.00 too high")
    add("trl-total-cent", _text(rows, trailer=f"TRL,15,{total - Decimal('0.01'):.2f}"),
        "trailer total is 0.01 too low")
    add("trl-both", _text(rows, trailer=f"TRL,17,{total + 5:.2f}"), "count and total both wrong: COUNT_MISMATCH first")
    add("trl-missing", _text(_rows(rng, 20, ASCII_NAMES), trailer=None)[:-25], "file cut off mid-record, no trailer")
    add("trl-cut-clean", _text(_rows(rng, 12, ASCII_NAMES), trailer=None), "file cut off after a complete record")
    add("trl-header-only", ",".join(HEADER) + "\n", "only the header: nothing else arrived")
    add("trl-bad", _text(rows, trailer="TRL,15"), "trailer without its amount total")
    add("trl-four", _text(rows, trailer=f"TRL,15,{total:.2f},EUR"), "trailer with a fourth field")
    add("trl-bad-count", _text(rows, trailer=f"TRL,15.0,{total:.2f}"), "trailer count written 15.0")
    add("trl-bad-total", _text(rows, trailer=f"TRL,15,{total:.2f}5"), "trailer total with three decimals")
    add("trl-control", _text(rows), "the same 15 records with a correct trailer (control)")
    add("trl-padded", _text(rows, trailer=f" TRL , 15 , {total:.2f} "), "trailer fields padded with spaces (valid)")
    add("trl-short-total", _text(rows, trailer=f"TRL,15,{total.normalize():f}"),
        "trailer total written with fewer decimals (valid)")
    refunds = _rows(rng, 5, ASCII_NAMES)
    for row in refunds:
        row[3] = f"-{row[3].lstrip('-')}"
    add("trl-negative", _text(refunds), "refunds only: a negative total (valid)")
    add("trl-zero", _text([], trailer="TRL,0,0.00"), "no orders that night: TRL,0,0.00 (valid)")
    late = _text(_rows(rng, 220, ASCII_NAMES)).splitlines(keepends=True)  # past the first 8 KB read
    late[-2] = late[-2].replace(late[-2].split(",")[2], "Hôtel Ibis")
    add("enc-late", "".join(late[:-2]).encode() + late[-2].encode("latin-1") + late[-1].encode(),
        "declared UTF-8, a Latin-1 byte in the last record", hint="utf-8")
    # Criterion 1: the header.
    swapped = [[r[0], r[1], r[3], r[2], r[4]] for r in _rows(rng, 8, ASCII_NAMES)]
    add("hdr-swapped", _text(swapped, header="order_id,order_date,amount,customer_name,note"),
        "amount and customer_name swapped")
    add("hdr-renamed", _text(_rows(rng, 8, ASCII_NAMES), header="order_no,order_date,customer_name,amount,note"),
        "order_id renamed order_no")
    add("hdr-missing", _text([r[:4] for r in _rows(rng, 8, ASCII_NAMES)], header=",".join(HEADER[:4])),
        "no note column")
    add("hdr-extra", _text([r + ["EUR"] for r in _rows(rng, 8, ASCII_NAMES)], header=",".join(HEADER) + ",currency"),
        "a sixth column, currency, at the end")
    add("hdr-case", _text(_rows(rng, 8, ASCII_NAMES), header="Order_ID,Order_Date,Customer_Name,Amount,Note"),
        "the agreed names in another case")
    no_header = _text(_rows(rng, 8, ASCII_NAMES))
    add("hdr-none", no_header.split("\n", 1)[1], "no header line at all")
    add("hdr-empty", b"", "an empty file (0 bytes)")
    add("hdr-padded", _text(_rows(rng, 8, ASCII_NAMES), header=" order_id , order_date,customer_name ,amount , note"),
        "header names padded with spaces (valid)")
    # Criterion 9: the summary of files that load everything, nothing, or only rejects.
    add("all-rejected", _text([_bad_row(rng, change) for change, _ in _BAD[5:11]]), "every record rejected")
    return Hidden(tuple(cases), _large(rng), _text(_rows(rng, 3, ASCII_NAMES)).encode())


def _large(rng: random.Random) -> bytes:
    """LARGE_ROWS valid records: one random block repeated with fresh order ids (fast to build)."""
    block = _rows(rng, 1000, ASCII_NAMES + LATIN1_NAMES)
    total = sum((_record(r)[2] for r in block), Decimal(0)) * (LARGE_ROWS // 1000)
    lines = [",".join(HEADER)]
    for n in range(LARGE_ROWS // 1000):
        lines += [f"LG{n:03d}{i:04d}," + ",".join(r[1:]) for i, r in enumerate(block)]
    return "\n".join(lines + [f"TRL,{LARGE_ROWS},{total:.2f}", ""]).encode()


def hidden_files(data: Hidden) -> dict[str, bytes]:
    files = {case.path: case.raw for case in data.cases}
    # A folder exists only with something in it; .keep is what a scheduler's mkdir leaves in practice.
    files.update({f"{folder}/.keep": b"" for folder in PRESET_DIRS})
    return files

