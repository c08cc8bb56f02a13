"""Hidden checks for csv-batch: load a nightly order file (encodings, quoting, rejects, trailer, streaming).

Every hidden file is generated from the grader's seed, with other order ids,
names, amounts and layouts than the visible fixtures, and each file tests one
thing, so one mistake costs the checks about it. The grader's own oracle
reads each file's bytes for the expected outputs; the learner's outputs are
read by the grader itself from the child's work folder (never through a link)
and judged here as untrusted data.

The grader package is split because one module would pass 600 lines:
oracle.py (the contract's expected outputs), order_files.py (the hidden
files) and outputs.py (reading what the submission wrote); this module holds
the probes, the judging helpers and the checks.
"""
from __future__ import annotations

import codecs
import json

from ...checks import Grader, failed, passed
from ...evidence import field_diff, mismatch_table, show
from ...results import Dimension
from ...sandbox import CallRecord, CallStatus
from .oracle import HEADER, Expected, oracle
from .order_files import COVERAGE, LARGE_ROWS, Case, Hidden, hidden_files, make_hidden
from .outputs import Seen, _seen

__all__ = ["grader", "HEADER", "ENTRY", "LARGE_ROWS", "GROWTH_LIMIT_KB", "TEXT_FIELDS", "TRAILERS", "COVERAGE",
           "Expected", "oracle", "Case", "Hidden", "make_hidden", "hidden_files", "Seen"]

ENTRY = "nightly:process_file"
OUTPUTS = ("accepted.jsonl", "rejects.jsonl")
CAP = 256 * 1024  # the hidden files are small; more than this is itself a finding
GROWTH_LIMIT_KB = 5 * 1024
TEXT_FIELDS = ("order_id", "customer_name")  # what an encoding mistake garbles
TRAILER_CODES = frozenset({"MISSING_TRAILER", "BAD_TRAILER", "COUNT_MISMATCH", "TOTAL_MISMATCH"})
# The check that judges each refusal code: named when a file is refused for another criterion's reason.
JUDGED_BY = {"BAD_HEADER": "header-validation", "BAD_ENCODING": "latin1-fallback and encoding-hint",
             **dict.fromkeys(TRAILER_CODES, "trailer-refusal")}

grader = Grader(seed=20251124, data=make_hidden, files=hidden_files, preload=True, coverage=COVERAGE)


# -- probes: run the submission, keep frozen records ----------------------------
def _process(run, key: str, out_prefix: str = "out"):
    case = run.data.case(key)
    out = f"{out_prefix}/{key}"
    args = (case.path, out) if case.hint is None else (case.path, out, case.hint)
    record = run.call(ENTRY, *args)
    # What it wrote, read by the grader from outside the child: no code of the submission's is in between.
    files = run.read_folder(out, OUTPUTS, CAP)
    return record, CallRecord(f"read {out}", (out,), {}, CallStatus.RETURNED, value=files)


def _group(name: str, keys: tuple[str, ...], out_prefix: str = "out"):
    grader.probe(name)(lambda run: {key: _process(run, key, out_prefix) for key in keys})


TRAILERS = ("trl-count", "trl-count-low", "trl-total", "trl-total-cent", "trl-both", "trl-missing", "trl-cut-clean",
            "trl-header-only", "trl-bad", "trl-four", "trl-bad-count", "trl-bad-total", "trl-control", "trl-padded",
            "trl-short-total", "trl-negative", "trl-zero")
_group("plain", ("plain",))
_group("canonical", ("canonical",))
_group("bom", ("bom", "bom-hinted"))
_group("latin1", ("latin1", "latin1-head", "latin1-tail"))
_group("hint", ("hint-bad", "hint-latin1", "hint-latin1-utf8"))
_group("quoted", ("quoted", "quoted-crlf"))
_group("multiline", ("multiline",))
_group("rejects", ("rejects", "spaces"))
_group("blank-tail", ("blank-tail",))
_group("trailers", TRAILERS + ("enc-late",))
_group("headers", ("hdr-swapped", "hdr-renamed", "hdr-missing", "hdr-extra", "hdr-case", "hdr-none", "hdr-empty",
                   "hdr-padded"))
_group("summaries", ("rejects", "blank-tail", "all-rejected", "trl-zero", "trl-total", "hdr-renamed"),
       out_prefix="again")


@grader.probe("large")
def _probe_large(run):
    """The large file in a fresh child, its peak memory read by the grader from the kernel.

    One small file goes first, so the module and what it imports are loaded before the measured call.
    """
    files = {"inbox/large.csv": run.data.large, "inbox/warm.csv": run.data.warm}
    with run.fresh(extra_files=files) as sandbox:
        sandbox.call(ENTRY, "inbox/warm.csv", "out/warm", timeout=30)
        return sandbox.call(ENTRY, "inbox/large.csv", "out/large", measure_memory=True, timeout=60)


# -- judging: what was seen against the oracle ---------------------------------
def _elsewhere(seen: Seen) -> str:
    """For a file refused when it should load: which check judges the refusal's reason."""
    reason = seen.summary.get("reason") if seen.summary else None
    where = JUDGED_BY.get(reason) if isinstance(reason, str) else None
    return f" (that reason is judged by {where})" if where else ""


def _judge_loaded(pair, case: Case, what: str, fields: tuple[str, ...] = HEADER, skip_null: bool = False):
    """Compare the accepted records of a file that must load against the oracle.

    Only ``fields`` are compared (and, with ``skip_null``, only where a value is expected), so each
    check judges what its criterion is about and leaves the rest to the others.
    """
    seen, want = _seen(pair), oracle(case.raw, case.hint)
    if seen.problem or seen.refused:
        return failed(f"{what}: expected it to load, but {seen.verdict()}{_elsewhere(seen)}", f"file: {case.about}")
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


def _all_loaded(evidence: dict, data: Hidden, what: dict, fields: tuple[str, ...] = HEADER, skip_null: bool = False):
    """_judge_loaded over several files: the first failure, or one pass for all."""
    for key, label in what.items():
        outcome = _judge_loaded(evidence[key], data.case(key), label, fields, skip_null)
        if outcome.fraction != 1.0:
            return outcome
    return passed(f"{' and '.join(what.values())}: every record loaded with the right {', '.join(fields)}")


def _verdict_ok(seen: Seen, want: Expected, own: frozenset, later: frozenset) -> tuple[bool, str]:
    """Whether a file's outcome is right as far as the criterion owning the codes ``own`` can tell.

    A code this criterion owns must be given exactly when the oracle gives it. A file refused for
    another criterion's reason is judged by that criterion's check: a file that must load may be
    refused for a reason found ``later`` in the file (a padded header passed, then the trailer failed),
    and a file refused for a reason this criterion does not own only must not get one it does own.
    """
    expected = f"refused ({want.reason})" if want.refused else "loaded"
    if seen.problem:
        return False, expected
    got = seen.summary.get("reason") if seen.refused else None
    if want.refused and want.reason in own:
        return got == want.reason, expected
    if want.refused:
        return got not in own, f"anything but {' or '.join(sorted(own))}"
    return got is None or got in later, expected


def _judge_refusals(evidence: dict, data: Hidden, what: str, own: frozenset, later: frozenset = frozenset()):
    rows = []
    for key, pair in evidence.items():
        case, seen = data.case(key), _seen(pair)
        ok, expected = _verdict_ok(seen, oracle(case.raw, case.hint), own, later)
        if not ok:
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
    # A padded header that passed, in a file then refused by its trailer, is judged by trailer-refusal.
    return _judge_refusals(evidence, data, "files with an unusual header", frozenset({"BAD_HEADER"}), TRAILER_CODES)


@grader.check("utf8-bom", title="UTF-8 with a byte-order mark", points=7, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="bom")
def check_bom(evidence, data):
    return _all_loaded(evidence, data, {"bom": "UTF-8 file with a BOM",
                                        "bom-hinted": "UTF-8 file with a BOM declared UTF-8"}, TEXT_FIELDS)


@grader.check("latin1-fallback", title="Latin-1 file detected and decoded", points=7, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="latin1")
def check_latin1(evidence, data):
    # Without a hint no file is BAD_ENCODING: whatever else refuses these two, it must not be that.
    edges = {key: evidence[key] for key in ("latin1-head", "latin1-tail")}
    refusal = _judge_refusals(edges, data, "Latin-1 files whose only accent is the first or last byte",
                              frozenset({"BAD_ENCODING"}))
    if refusal.fraction != 1.0:
        return refusal
    return _judge_loaded(evidence["latin1"], data.case("latin1"), "Latin-1 file", TEXT_FIELDS)


@grader.check("encoding-hint", title="An encoding hint overrides detection", points=4, skill="encodings",
              dimension=Dimension.API_DATA, criterion=2, probe="hint")
def check_hint(evidence, data):
    refusal = _judge_refusals({"hint-bad": evidence["hint-bad"]}, data, "files declared UTF-8 with a bad byte",
                              frozenset({"BAD_ENCODING"}))
    if refusal.fraction != 1.0:
        return refusal
    loaded = _all_loaded(evidence, data, {"hint-latin1": "file declared Latin-1",
                                          "hint-latin1-utf8": "UTF-8 bytes declared Latin-1"}, TEXT_FIELDS)
    if loaded.fraction != 1.0:
        return loaded
    return passed("a file declared UTF-8 with a bad byte was refused; files declared Latin-1 were read as Latin-1")


@grader.check("quoted-fields", title="Quoted fields with commas, quotes and line breaks", points=8, skill="csv-parsing",
              dimension=Dimension.API_DATA, criterion=3, probe="quoted")
def check_quoted(evidence, data):
    return _all_loaded(evidence, data, {"quoted": "file with quoted fields",
                                        "quoted-crlf": "CRLF file with quoted fields"},
                       ("customer_name", "note"), skip_null=True)


@grader.check("blank-trailing-lines", title="Blank records are skipped, after the trailer too", points=6,
              skill="csv-parsing", dimension=Dimension.API_DATA, criterion=4, probe="blank-tail")
def check_blank_tail(evidence, data):
    return _judge_loaded(evidence["blank-tail"], data.case("blank-tail"), "file with blank records", ("order_id",))


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
        return failed(f"no accepted.jsonl to judge for a plain UTF-8 file ({seen.verdict()}){_elsewhere(seen)}")
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
    files = {key: evidence[key] for key in TRAILERS}
    return _judge_refusals(files, data, "files with a bad, missing or correct trailer", TRAILER_CODES)


@grader.check("reconcile-includes-rejects", title="Control totals count rejected rows too", points=4,
              skill="reconciliation", dimension=Dimension.INTEGRATION, criterion=7, probe="rejects")
def check_reconcile_rejects(evidence, data):
    seen = _seen(evidence["rejects"])
    if seen.problem:
        return failed(f"the file with rejected rows could not be judged: {seen.problem} (see reject-codes)")
    if seen.refused:
        return failed(f"a file with rejected rows and a correct trailer must load; got: {seen.verdict()}",
                      "the trailer counts every data record, rejected or not, and totals every valid amount")
    return passed("the file with rejected rows reconciled and loaded")


@grader.check("no-partial-load", title="A refused file loads nothing", points=8, skill="data-integrity",
              dimension=Dimension.INTEGRATION, criterion=8, probe="trailers")
def check_no_partial(evidence, data):
    control = _seen(evidence["trl-control"])
    if control.refused or not control.accepted:
        # Loading nothing at all would pass this check without learning anything.
        return failed("the control file (a correct trailer) did not load, so refusals cannot be judged "
                      "(see trailer-refusal)",
                      f"control file: {control.verdict()}, accepted.jsonl with {len(control.accepted or [])} records")
    # Judged: every file the submission refused, or crashed on. A file it should have refused but loaded
    # is the business of the check about the reason it missed (trailer-refusal, encoding-hint).
    must = [key for key in evidence if oracle(data.case(key).raw, data.case(key).hint).refused]
    judged = [key for key in must if _seen(evidence[key]).refused or _seen(evidence[key]).problem]
    if not any(_seen(evidence[key]).refused for key in judged):
        return failed(f"none of the {len(must)} files that must be refused was refused, so what a refusal "
                      "leaves behind cannot be judged (see trailer-refusal)")
    rows = []
    for key in judged:
        seen = _seen(evidence[key])
        if seen.accepted_raw:
            count = len(seen.accepted) if seen.accepted is not None else "unreadable"
            how = "refused" if seen.refused else "crashed"
            rows.append((data.case(key).about, [f"{how}, yet accepted.jsonl was left with {count} records"]))
    if rows:
        return failed(f"{len(rows)} of {len(judged)} refused files left records in accepted.jsonl",
                      mismatch_table(rows, len(judged)))
    return passed(f"none of the {len(judged)} refused files left an accepted.jsonl with records")


def _summary_problems(seen: Seen, want: Expected) -> list[str]:
    """What is wrong with one file's summary, judged on its own terms.

    The counts must match the files the submission wrote, or the files it should have written: a
    mistake in writing rejects.jsonl is charged to the reject checks, not a second time here.
    """
    s, lines = seen.summary, []
    counts = {k: s.get(k) for k in ("rows", "accepted", "rejected")}
    if not all(type(v) is int for v in counts.values()):
        lines.append(f"rows, accepted and rejected must be integers: {show(counts)}")
    elif seen.refused:
        # 0, or what a refusal that left records behind wrote: that mistake is no-partial-load's.
        if counts["accepted"] not in (0, len(seen.accepted or [])):
            lines.append(f"says accepted={counts['accepted']} for a refused file; it must be 0")
    else:
        pair = (counts["accepted"], counts["rejected"])
        own = (len(seen.accepted or []), len(seen.rejects or []))
        right = (len(want.accepted), len(want.rejects)) if not want.refused else own
        if pair not in (own, right):
            lines.append(f"says accepted={pair[0]}, rejected={pair[1]}; the files hold {own[0]} and {own[1]}")
        elif counts["rows"] != sum(pair):
            lines.append(f"rows={counts['rows']} but accepted + rejected = {sum(pair)}")
    if seen.refused != (s.get("reason") is not None) or not isinstance(s.get("reason"), (str, type(None))):
        lines.append(f"refused={s.get('refused')} with reason={show(s.get('reason'))}")
    return lines


@grader.check("summary-consistency", title="The summary matches the files written", points=4, skill="observability",
              dimension=Dimension.INTEGRATION, criterion=9, probe="summaries")
def check_summary(evidence, data):
    rows = []
    for key, pair in evidence.items():
        if not pair[0].ok:
            continue  # a call that raised is the business of the check about that file
        seen, case = _seen(pair), data.case(key)
        lines = [seen.problem] if seen.problem else _summary_problems(seen, oracle(case.raw, case.hint))
        if lines:
            rows.append((case.about, lines))
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
        why = f"raised {record.error.line()}" if record.error else record.problem()
        return failed(f"process_file() on a {size} file {why}")
    summary = record.value if isinstance(record.value, dict) else None
    # Read to the end: all rows loaded, or refused by the trailer, which is the last record
    # (a wrong refusal is charged to trailer-refusal; the memory it took is judged here).
    whole = isinstance(summary, dict) and (
        (summary.get("rows") == LARGE_ROWS and summary.get("refused") is False)
        or (summary.get("refused") is True and summary.get("reason") in TRAILER_CODES))
    if not whole:
        return failed(f"the {size} file was not read to the end: expected rows={LARGE_ROWS}",
                      f"summary: {show(summary if summary is not None else record.value, 150)}")
    growth = record.peak_growth_kb
    if growth is None:
        return failed("the peak memory of the call could not be read from the kernel on this machine (no /proc), "
                      "so criterion 10 cannot be judged here")
    if growth > GROWTH_LIMIT_KB:
        return failed(f"memory grew by about {round(growth / 1024)} MB while loading a {size} file; "
                      f"it must stay under {GROWTH_LIMIT_KB // 1024} MB", "read and write one record at a time")
    return passed(f"memory grew by less than {GROWTH_LIMIT_KB // 1024} MB while loading a {size} file")
