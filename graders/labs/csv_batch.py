"""Hidden checks for csv-batch: load a nightly order file (encodings, quoting, rejects, trailer, streaming).

Every hidden file is generated from the grader's seed, with other order ids,
names, amounts and layouts than the visible fixtures, and each file tests one
thing, so one mistake costs the checks about it. The grader's own oracle
reads each file's bytes for the expected outputs; the learner's outputs come
back through the trusted helper ``_iclab_csv_batch`` and are judged here as
untrusted data.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import random
import re
from dataclasses import dataclass
from decimal import Decimal

from ..checks import Grader, failed, passed
from ..evidence import field_diff, mismatch_table, show
from ..results import Dimension

HEADER = ("order_id", "order_date", "customer_name", "amount", "note")
ENTRY = "nightly:process_file"
LARGE_ROWS = 120_000  # about 6 MB: reading it whole grows memory by 10 MB or more
GROWTH_LIMIT_KB = 5 * 1024
TEXT_FIELDS = ("order_id", "customer_name")  # what an encoding mistake garbles
_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# -- the oracle: the contract, used only to compute expected outputs ----------
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


# -- hidden data ----------------------------------------------------------------
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


grader = Grader(seed=20251124, data=make_hidden, files=hidden_files)


# -- probes: run the submission, keep frozen records ----------------------------
def _process(run, key: str, out_prefix: str = "out"):
    case = run.data.case(key)
    out = f"{out_prefix}/{key}"
    args = (case.path, out) if case.hint is None else (case.path, out, case.hint)
    return run.call(ENTRY, *args), run.call("_iclab_csv_batch:read_outputs", out)


def _group(name: str, keys: tuple[str, ...], out_prefix: str = "out"):
    grader.probe(name)(lambda run: {key: _process(run, key, out_prefix) for key in keys})


_group("plain", ("plain",))
_group("canonical", ("canonical",))
_group("bom", ("bom",))
_group("latin1", ("latin1",))
_group("hint", ("hint-bad", "hint-latin1"))
_group("quoted", ("quoted",))
_group("multiline", ("multiline",))
_group("rejects", ("rejects", "spaces"))
_group("blank-tail", ("blank-tail",))
_group("trailers", ("trl-count", "trl-total", "trl-missing", "trl-bad", "trl-control"))
_group("headers", ("hdr-swapped", "hdr-renamed", "hdr-missing", "hdr-none", "hdr-padded"))
_group("summaries", ("rejects", "blank-tail", "trl-total", "hdr-renamed"), out_prefix="again")


@grader.probe("large")
def _probe_large(run):
    with run.fresh(extra_files={"inbox/large.csv": run.data.large}) as sandbox:
        return sandbox.call("_iclab_csv_batch:measure", "inbox/large.csv", "out/large", timeout=60)


# -- reading what the submission left behind -----------------------------------
@dataclass(frozen=True)
class Seen:
    """One process_file call and its output files, parsed in the parent."""

    summary: dict | None
    problem: str  # why there is no usable summary ("" when there is one)
    accepted: list | None  # parsed accepted.jsonl; None when the file is absent
    accepted_raw: bytes | None
    rejects: list | None
    unreadable: str  # why an output file could not be parsed ("" when fine)

    @property
    def refused(self) -> bool:
        return bool(self.summary) and self.summary.get("refused") is True

    def verdict(self) -> str:
        if self.problem:
            return self.problem
        return f"refused ({self.summary.get('reason')})" if self.refused else "loaded"


def _jsonl(raw: bytes | None, name: str) -> tuple[list | None, str]:
    if raw is None:
        return None, ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{name} is not UTF-8 ({exc.reason} at byte {exc.start})"
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                return None, f"line {number} of {name} is not JSON: {show(line, 60)}"
    return out, ""


def _seen(pair) -> Seen:
    call, outputs = pair
    summary, problem = None, ""
    if not call.ok:
        problem = call.problem()
    elif not isinstance(call.value, dict) or not isinstance(call.value.get("refused"), bool):
        problem = f"process_file() returned {show(call.value, 80)}, expected the summary dict"
    else:
        summary = call.value
    files = outputs.value.get("files") if outputs.ok and isinstance(outputs.value, dict) else None
    files = files if isinstance(files, dict) else {}
    accepted_raw = files.get("accepted.jsonl") if isinstance(files.get("accepted.jsonl"), bytes) else None
    accepted, bad_a = _jsonl(accepted_raw, "accepted.jsonl")
    rejects_raw = files.get("rejects.jsonl")
    rejects, bad_r = _jsonl(rejects_raw if isinstance(rejects_raw, bytes) else None, "rejects.jsonl")
    return Seen(summary, problem, accepted, accepted_raw, rejects, bad_a or bad_r)


def _judge_loaded(pair, case: Case, what: str, fields: tuple[str, ...] = HEADER, skip_null: bool = False):
    """Compare the accepted records of a file that must load against the oracle.

    Only ``fields`` are compared (and, with ``skip_null``, only where a value is expected), so each
    check judges what its criterion is about and leaves the rest to the others.
    """
    seen, want = _seen(pair), oracle(case.raw, case.hint)
    if seen.problem or seen.refused:
        return failed(f"{what}: expected it to load, but {seen.verdict()}", f"file: {case.about}")
    if seen.unreadable or seen.accepted is None:
        return failed(f"{what}: {seen.unreadable or 'no accepted.jsonl was written'}")
    rows = []
    for i, expected in enumerate(want.accepted):
        got = seen.accepted[i] if i < len(seen.accepted) else "<missing>"
        diff = field_diff(expected, got, [k for k in fields if not (skip_null and expected[k] is None)])
        if diff:
            rows.append((expected["order_id"], diff))
    if len(seen.accepted) != len(want.accepted):
        return failed(f"{what}: expected {len(want.accepted)} accepted records, got {len(seen.accepted)}",
                      mismatch_table(rows, len(want.accepted)) or f"file: {case.about}")
    if rows:
        return failed(f"{what}: {len(rows)} of {len(want.accepted)} accepted records have wrong values",
                      mismatch_table(rows, len(want.accepted)))
    return passed(f"{what}: all {len(want.accepted)} records loaded with the right {', '.join(fields)}")


def _judge_refusals(evidence: dict, data: Hidden, what: str):
    rows = []
    for key, pair in evidence.items():
        case, seen = data.case(key), _seen(pair)
        want = oracle(case.raw, case.hint)
        expected = f"refused ({want.reason})" if want.refused else "loaded"
        if seen.problem or seen.verdict() != expected:
            rows.append((case.about, [f"expected {expected}, got {seen.verdict()}"]))
    if rows:
        return failed(f"{len(rows)} of {len(evidence)} {what} were not handled as the contract says",
                      mismatch_table(rows, len(evidence)))
    return passed(f"all {len(evidence)} {what} refused or loaded as expected, with the right reason code")


def _reject_parts(pair, case: Case, part: int, what: str):
    """Compare one part (0 = line, 1 = code) of the reject report, in file order."""
    seen, want = _seen(pair), oracle(case.raw, case.hint)
    if seen.problem:
        return failed(f"{what}: {seen.problem}")
    if seen.unreadable or seen.rejects is None:
        return failed(f"{what}: {seen.unreadable or 'no rejects.jsonl was written'}")
    key = ("line", "code")[part]
    got = [r.get(key) if isinstance(r, dict) else r for r in seen.rejects]
    expected = [r[part] for r in want.rejects]
    if got == expected:
        return passed(f"{what}: all {len(expected)} rejects reported with the right {key}")
    lines = [f"expected {key}s: {show(expected, 110)}", f"     got {key}s: {show(got, 110)}", f"file: {case.about}"]
    return failed(f"{what}: the reject report's {key}s differ from the expected ones", "\n".join(lines))


# -- checks ---------------------------------------------------------------------
@grader.check("header-validation", title="A wrong header refuses the file", points=7, skill="validation",
              dimension=Dimension.API_DATA, criterion=1, probe="headers")
def check_header(evidence, data):
    return _judge_refusals(evidence, data, "files with an unusual header")


@grader.check("utf8-bom", title="UTF-8 with a byte-order mark", points=7, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="bom")
def check_bom(evidence, data):
    return _judge_loaded(evidence["bom"], data.case("bom"), "UTF-8 file with a BOM", TEXT_FIELDS)


@grader.check("latin1-fallback", title="Latin-1 file detected and decoded", points=7, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="latin1")
def check_latin1(evidence, data):
    return _judge_loaded(evidence["latin1"], data.case("latin1"), "Latin-1 file", TEXT_FIELDS)


@grader.check("encoding-hint", title="An encoding hint overrides detection", points=4, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="hint")
def check_hint(evidence, data):
    refusal = _judge_refusals({"hint-bad": evidence["hint-bad"]}, data, "files declared UTF-8 with a bad byte")
    if refusal.fraction != 1.0:
        return refusal
    loaded = _judge_loaded(evidence["hint-latin1"], data.case("hint-latin1"), "file declared Latin-1", TEXT_FIELDS)
    if loaded.fraction != 1.0:
        return loaded
    return passed("a file declared UTF-8 with a bad byte was refused; a file declared Latin-1 loaded right")


@grader.check("quoted-fields", title="Quoted fields with commas, quotes and line breaks", points=8, skill="csv-parsing",
              dimension=Dimension.API_DATA, criterion=3, probe="quoted")
def check_quoted(evidence, data):
    return _judge_loaded(evidence["quoted"], data.case("quoted"), "file with quoted fields",
                         ("customer_name", "note"), skip_null=True)


@grader.check("blank-trailing-lines", title="Blank lines after the trailer are ignored", points=6, skill="csv-parsing",
              dimension=Dimension.API_DATA, criterion=4, probe="blank-tail")
def check_blank_tail(evidence, data):
    return _judge_loaded(evidence["blank-tail"], data.case("blank-tail"), "file ending in blank lines", ("order_id",))


@grader.check("accepted-records", title="Accepted records have the canonical values", points=8, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=5, probe="plain")
def check_accepted(evidence, data):
    return _judge_loaded(evidence["plain"], data.case("plain"), "plain UTF-8 file")


@grader.check("canonical-jsonl", title="accepted.jsonl is canonical JSON Lines", points=5, skill="data-formats",
              dimension=Dimension.API_DATA, criterion=5, probe="canonical")
def check_canonical(evidence, data):
    seen = _seen(evidence["canonical"])
    raw = seen.accepted_raw
    if not raw:
        return failed(f"no accepted.jsonl to judge for a plain UTF-8 file ({seen.verdict()})")
    problems = []
    if raw.startswith(codecs.BOM_UTF8) or b"\r" in raw or not raw.endswith(b"\n"):
        problems.append("the file must be UTF-8 without a BOM, with \\n after every line and no \\r")
    for number, line in enumerate(raw.decode("utf-8", "replace").split("\n")[:-1], start=1):
        try:
            canonical = json.dumps(json.loads(line), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        except ValueError:
            canonical = "<a JSON object>"
        if line != canonical:
            problems.append(f"line {number}: got      {line[:100]}\n  expected {canonical[:100]}")
    if problems:
        return failed(f"{len(problems)} problems with the canonical form (sorted keys, no spaces, UTF-8 text)",
                      "\n".join(problems[:3]))
    return passed("every line is canonical JSON: sorted keys, no spaces, non-ASCII kept as UTF-8")


@grader.check("reject-codes", title="Rejected rows carry the right reason code", points=7, skill="error-handling",
              dimension=Dimension.API_DATA, criterion=6, probe="rejects")
def check_reject_codes(evidence, data):
    spaces = _reject_parts(evidence["spaces"], data.case("spaces"), 1, "file with values of only spaces")
    if spaces.fraction != 1.0:
        return spaces
    return _reject_parts(evidence["rejects"], data.case("rejects"), 1, "file with bad rows")


@grader.check("reject-line-numbers", title="Rejects name the physical line", points=7, skill="troubleshooting",
              dimension=Dimension.TROUBLESHOOTING, criterion=6, probe="rejects")
def check_reject_lines(evidence, data):
    return _reject_parts(evidence["rejects"], data.case("rejects"), 0, "file with bad rows and blank lines")


@grader.check("multiline-line-numbers", title="Line numbers stay right after multi-line records", points=4,
              skill="troubleshooting", dimension=Dimension.TROUBLESHOOTING, criterion=6, probe="multiline")
def check_multiline_lines(evidence, data):
    return _reject_parts(evidence["multiline"], data.case("multiline"), 0, "file with multi-line records")


@grader.check("trailer-refusal", title="A trailer that does not reconcile refuses the file", points=7,
              skill="reconciliation", dimension=Dimension.INTEGRATION, criterion=7, probe="trailers")
def check_trailer(evidence, data):
    return _judge_refusals(evidence, data, "files with a bad, missing or correct trailer")


@grader.check("reconcile-includes-rejects", title="Control totals count rejected rows too", points=4,
              skill="reconciliation", dimension=Dimension.INTEGRATION, criterion=7, probe="rejects")
def check_reconcile_rejects(evidence, data):
    seen = _seen(evidence["rejects"])
    if seen.problem or seen.refused:
        return failed(f"a file with rejected rows and a correct trailer must load; got: {seen.verdict()}",
                      "the trailer counts every data record, rejected or not, and totals every valid amount")
    return passed("the file with rejected rows reconciled and loaded")


@grader.check("no-partial-load", title="A refused file loads nothing", points=8, skill="data-integrity",
              dimension=Dimension.INTEGRATION, criterion=8, probe="trailers")
def check_no_partial(evidence, data):
    control = _seen(evidence["trl-control"])
    if control.refused or not control.accepted:
        # Loading nothing at all would pass this check without learning anything.
        return failed("the control file (a correct trailer) did not load either, so refusals cannot be judged",
                      f"control file: {control.verdict()}, accepted.jsonl with {len(control.accepted or [])} records")
    rows = []
    for key, pair in evidence.items():
        if key == "trl-control":
            continue
        seen = _seen(pair)
        if seen.accepted_raw:
            count = len(seen.accepted) if seen.accepted is not None else "unreadable"
            rows.append((data.case(key).about, [f"accepted.jsonl was left with {count} records"]))
        elif seen.problem:
            rows.append((data.case(key).about, [f"{seen.problem}; refuse the file instead of crashing"]))
    if rows:
        return failed(f"{len(rows)} of {len(evidence) - 1} files that must be refused were not refused cleanly",
                      mismatch_table(rows, len(evidence) - 1))
    return passed(f"none of the {len(evidence) - 1} refused files left an accepted.jsonl with records")


@grader.check("summary-consistency", title="The summary matches the files written", points=4, skill="observability",
              dimension=Dimension.INTEGRATION, criterion=9, probe="summaries")
def check_summary(evidence, data):
    rows = []
    for key, pair in evidence.items():
        if not pair[0].ok:
            continue  # a call that raised is the business of the check about that file
        seen, lines = _seen(pair), []
        if seen.problem:
            rows.append((data.case(key).about, [seen.problem]))
            continue
        s = seen.summary
        counts = {k: s.get(k) for k in ("rows", "accepted", "rejected")}
        if not all(type(v) is int for v in counts.values()):
            lines.append(f"rows, accepted and rejected must be integers: {show(counts)}")
        elif counts["accepted"] != len(seen.accepted or []) or counts["rejected"] != len(seen.rejects or []):
            lines.append(f"says accepted={counts['accepted']}, rejected={counts['rejected']}; the files hold "
                         f"{len(seen.accepted or [])} and {len(seen.rejects or [])}")
        elif not seen.refused and counts["rows"] != counts["accepted"] + counts["rejected"]:
            lines.append(f"rows={counts['rows']} but accepted + rejected = {counts['accepted'] + counts['rejected']}")
        if seen.refused != (s.get("reason") is not None) or not isinstance(s.get("reason"), (str, type(None))):
            lines.append(f"refused={s.get('refused')} with reason={show(s.get('reason'))}")
        if lines:
            rows.append((data.case(key).about, lines))
    judged = [_seen(pair) for pair in evidence.values() if pair[0].ok]
    if not any(seen.summary and not seen.refused and seen.accepted for seen in judged):
        # A constant "refused, nothing written" summary is consistent, and worthless.
        return failed("no file loaded any records, so the summary of a loaded file could not be judged",
                      "; ".join(sorted({seen.verdict() for seen in judged})) or "process_file() raised on every file")
    if rows:
        return failed(f"the summary disagrees with the output files for {len(rows)} of {len(judged)} files",
                      mismatch_table(rows, len(judged)))
    return passed(f"the summary matched the output files for all {len(judged)} files that returned one")


@grader.check("streams-large-file", title="Memory stays flat on a large file", points=7, skill="streaming",
              dimension=Dimension.INTEGRATION, criterion=10, probe="large")
def check_streaming(record, data):
    size = f"{len(data.large) / 1e6:.1f} MB"
    if not record.ok:
        why = f"raised {record.error.line()}" if record.error else record.problem().removeprefix("measure() ")
        return failed(f"process_file() on a {size} file {why}")
    value = record.value if isinstance(record.value, dict) else {}
    summary, growth = value.get("summary"), value.get("growth_kb")
    if not isinstance(summary, dict) or summary.get("rows") != LARGE_ROWS or not isinstance(growth, int):
        return failed(f"the {size} file was not read to the end: expected rows={LARGE_ROWS}",
                      f"summary: {show(summary, 150)}")
    if growth > GROWTH_LIMIT_KB:
        return failed(f"memory grew by about {round(growth / 1024)} MB while loading a {size} file; "
                      f"it must stay under {GROWTH_LIMIT_KB // 1024} MB", "read and write one record at a time")
    return passed(f"memory grew by less than {GROWTH_LIMIT_KB // 1024} MB while loading a {size} file")
