"""Hidden checks for map-customer (Exercise A, mapping part).

The grader's own oracle (``oracle.py``, written from the ticket) computes every expected value from
hidden accounts and hidden lookup tables generated from a fixed seed (``hidden.py``, with the
per-criterion ``COVERAGE`` table), so copying the visible fixtures' expected output earns nothing.

One mistake is charged once. A valid account wrongly rejected counts against the check that owns
the rejected field (``OWNER``); a crash counts against the check its account was made for. The
batch is judged on its own terms, against the learner's own ``map_account`` answers for the same
accounts; the validation order only on accounts whose single problems are each reported right;
the schema only for the customer's shape (the eight keys, no others) where no field check judges it.
"""
from __future__ import annotations

import json

import jsonschema

from ... import paths
from ...checks import Grader, failed, passed
from ...evidence import mismatch_table
from ...results import Dimension
from .answers import answer, kind_of, label, same, show
from .compare import (MIN_JUDGED, OWNER, compare_fields, compare_rejections, expected_rejection, field_rows, partition,
                      rejection_rows, unjudged)
from .hidden import COVERAGE, LOOKUP_DIR, Hidden, hidden_files, make_hidden
from .oracle import CODES, blank, outcome

__all__ = ["grader", "make_hidden", "hidden_files", "outcome", "OWNER"]

grader = Grader(seed=20261124, data=make_hidden, files=hidden_files, preload=True, coverage=COVERAGE)

BATCH_NAMES = ("the mixed batch", "the batch with one rejection in the middle", "the batch of rejections only",
               "the empty batch")


# -- probes: run the submission, keep frozen records --------------------------
def _each(run, accounts):
    return run.call_many("mapper:map_account", [(a, run.data.lookups) for a in accounts]) if accounts else ()


@grader.probe("lookups")
def _probe_lookups(run):
    return run.call("mapper:load_lookups", LOOKUP_DIR)


@grader.probe("valid")
def _probe_valid(run):
    return _each(run, [c.account for c in run.data.valid])


def _with_twins(run, cases):
    """Each account with one problem, and its twin without the problem (to tell whose mistake a wrong answer is)."""
    records = _each(run, [c.account for c in cases] + [c.twin for c in cases])
    return tuple(zip(records[:len(cases)], records[len(cases):]))


@grader.probe("phone")
def _probe_phone(run):
    """The accounts made for the phone rule (the other valid ones carry plain +numbers), and the invalid phones."""
    return _each(run, [c.account for c in _phone_cases(run.data)]), _with_twins(run, run.data.bad_phones)


def _phone_cases(data: Hidden):
    return tuple(c for c in data.valid if c.topic == "phone")


@grader.probe("optional")
def _probe_optional(run):
    return _each(run, [c.account for c in run.data.optional])


@grader.probe("missing")
def _probe_missing(run):
    return _with_twins(run, run.data.missing)


@grader.probe("bad")
def _probe_bad(run):
    return _with_twins(run, run.data.bad)


@grader.probe("several")
def _probe_several(run):
    """Each account with several problems, and the answers for each of its problems alone."""
    several = run.data.several
    together = _each(run, [s.account for s in several])
    alone = iter(_each(run, [a for s in several for a in s.singles]))
    return tuple((record, tuple(next(alone) for _ in s.singles)) for record, s in zip(together, several))


@grader.probe("batch")
def _probe_batch(run):
    """Each hidden batch: the learner's map_account on every account, then map_batch on the whole."""
    return tuple((_each(run, batch), run.call("mapper:map_batch", list(batch), run.data.lookups))
                 for batch in run.data.batches)


@grader.probe("batch-untouched")
def _probe_untouched(run):
    """map_batch on the accounts the learner's map_account answers cleanly, those it accepts first.

    Accepted first, so a batch that stops at its first rejection has still seen every accepted
    account and one rejected one: its mutations are judged, its stopping is batch-partition's.
    """
    kinds = [answer(r).kind for r in _each(run, run.data.untouched)]
    accepted = [a for a, k in zip(run.data.untouched, kinds) if k == "customer"]
    rejected = [a for a, k in zip(run.data.untouched, kinds) if k == "rejected"]
    sent = accepted + rejected
    return sent, len(accepted), run.call("mapper:map_batch", sent, run.data.lookups, watch_args=True)


# -- checks: judge the records ------------------------------------------------
@grader.check("lookups-load", title="Lookup tables load from CSV", points=5, skill="lookups",
              dimension=Dimension.API_DATA, criterion=1, probe="lookups")
def check_lookups(record, data: Hidden):
    if not record.ok:
        return failed(f"load_lookups() on the hidden lookup folder: {record.problem()}",
                      record.error.traceback if record.error else "")
    got, want = record.value, data.lookups
    if not isinstance(got, dict):
        return failed(f"load_lookups() returned {kind_of(got)}; a dict was expected", show(got, 120))
    lines = []
    for table in ("status", "country"):
        have = got.get(table)
        if not isinstance(have, dict):
            lines.append(f"{table}: expected a dict, got {kind_of(have)} {show(have)}")
            continue
        extra = sorted((k for k in have if k not in want[table]), key=repr)
        for key in list(want[table]) + extra:
            if not same(want[table].get(key), have.get(key)):
                lines.append(f"{table}[{key!r}]: expected {show(want[table].get(key), 70)}, got {show(have.get(key), 70)}")
    if lines:
        return failed(f"{len(lines)} lookup entries differ (the hidden files have a BOM, keys in any case, padded "
                      "values and blank lines)", "\n".join(lines[:6]))
    return passed(f"both tables loaded: {len(want['status'])} status codes, {len(want['country'])} countries")


@grader.check("maps-valid-accounts", title="Identity fields of valid accounts", points=10, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=2, probe="valid")
def check_identity(records, data: Hidden):
    return compare_fields(records, data.valid, data, ("customer_id", "name", "country"),
                          "customer_id, name or country", owner="identity")


@grader.check("created-at-utc", title="created_at converted to UTC", points=10, skill="timezones",
              dimension=Dimension.API_DATA, criterion=3, probe="valid")
def check_created(records, data: Hidden):
    return compare_fields(records, data.valid, data, ("created_at",), "created_at", owner="created_at")


@grader.check("status-lookup", title="Status mapped through the lookup table", points=10, skill="lookups",
              dimension=Dimension.API_DATA, criterion=4, probe="valid")
def check_status(records, data: Hidden):
    return compare_fields(records, data.valid, data, ("status",), "status", owner="status")


@grader.check("region-enrichment", title="Region enriched from the country lookup", points=5, skill="lookups",
              dimension=Dimension.API_DATA, criterion=5, probe="valid")
def check_region(records, data: Hidden):
    return compare_fields(records, data.valid, data, ("region",), "region", owner="region")


@grader.check("blank-handling", title="Blank optional fields become null; Email trimmed and lower-cased", points=10,
              skill="validation", dimension=Dimension.API_DATA, criterion=6, probe="optional")
def check_blanks(records, data: Hidden):
    # Judge only Email and Phone; a rejection counts here only when it blames a blank optional field.
    rows, judged = [], 0
    for record, case in zip(records, data.optional):
        account, got = case.account, answer(record)
        blanks = [f for f in ("Email", "Phone") if blank(account.get(f))]
        if got.kind == "customer":
            judged += 1
            want = outcome(account, data.lookups)
            fields = [f.lower() for f in blanks] + ([] if "Email" in blanks else ["email"])
            lines = [f"{f}: expected {show(want[f])} for {show(account.get(f.title(), '<absent>'))}, "
                     f"got {show(got.customer.get(f, '<absent>'))}" for f in fields
                     if not same(got.customer.get(f, "<absent>"), want[f])]
            if lines:
                rows.append((label(account, case.note), lines))
        elif got.kind == "error" or got.field in blanks:
            judged += 1
            rows.append((label(account, case.note), [f"expected a customer with {' and '.join(blanks)} null, "
                                                     f"but it {got.describe()}"]))
    total = len(data.optional)
    if judged < MIN_JUDGED:
        return failed(f"only {judged} of {total} accounts with blank optional fields came back as customers, "
                      "too few to judge", "see the other failed checks for why the rest were rejected")
    if rows:
        return failed(f"{len(rows)} of {judged} accounts with blank optional fields were mishandled",
                      mismatch_table(rows, judged))
    return passed(f"absent, null, empty and whitespace-only Email/Phone became null in all {judged} accounts, "
                  "present emails trimmed and lower-cased")


@grader.check("phone-e164", title="Phone numbers normalised to E.164, or INVALID_PHONE", points=10,
              skill="data-mapping", dimension=Dimension.API_DATA, criterion=7, probe="phone")
def check_phone(evidence, data: Hidden):
    # The whole phone rule in one check: valid numbers normalised, and step 5's INVALID_PHONE.
    valid, bad = evidence
    cases = _phone_cases(data)
    rows, judged = field_rows(valid, cases, data, ("phone",), "phone")
    bad_rows, bad_judged = rejection_rows(bad, data.bad_phones, data)
    rows += bad_rows
    total = judged + bad_judged
    if judged < MIN_JUDGED:
        return failed(f"only {judged} of {len(cases)} valid accounts came back as customers, too few to judge "
                      "phone", "see the other failed checks for why the rest were not mapped")
    if rows:
        return failed(f"{len(rows)} of {total} phones were not normalised or rejected as the phone rule says",
                      mismatch_table(rows, total))
    return passed(f"{judged} phones normalised to E.164 and {bad_judged} rejected with INVALID_PHONE"
                  + unjudged(len(data.bad_phones) - bad_judged))


@grader.check("rejects-missing-required", title="Missing required fields are rejected with a reason code",
              points=10, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=8, probe="missing")
def check_missing(records, data: Hidden):
    return compare_rejections(records, data.missing, data, "accounts with a blank required field", message=True)


@grader.check("rejects-unknown-codes", title="Unknown codes and bad values are rejected with a reason code",
              points=10, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=8, probe="bad")
def check_bad(records, data: Hidden):
    return compare_rejections(records, data.bad, data, "accounts with an unknown code or bad value")


@grader.check("rejects-first-problem", title="Several problems: the first in the validation order is reported",
              points=5, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=8, probe="several")
def check_first_problem(evidence, data: Hidden):
    rows, judged, skipped = [], 0, 0
    for (record, single_records), item in zip(evidence, data.several):
        alone = [answer(r) for r in single_records]
        if any(a.kind != "rejected" or (a.code, a.field) != expected_rejection(s, data) for a, s in zip(alone, item.singles)):
            skipped += 1  # one of its problems is mishandled even alone: another check's business
            continue
        judged += 1
        want, got = outcome(item.account, data.lookups), answer(record)
        if got.kind != "rejected" or (got.code, got.field) != (want.code, want.field):
            rows.append((label(item.account, item.note), [f"expected Rejected({want.code!r}, {want.field!r})",
                                                           f"but it {got.describe()}"]))
    total = len(data.several)
    if judged < MIN_JUDGED:
        return failed(f"the validation order cannot be judged: in {skipped} of {total} accounts with several problems, "
                      "one of the problems is not rejected right even on its own",
                      "see rejects-missing-required and rejects-unknown-codes")
    note = f" ({skipped} not judged: a problem in them is mishandled alone, see the other rejects- checks)" if skipped else ""
    if rows:
        return failed(f"{len(rows)} of {judged} accounts with several problems did not report the first one in "
                      "the validation order" + note, mismatch_table(rows, judged))
    return passed(f"the first problem in the validation order reported for all {judged} accounts with several "
                  "problems" + note)


@grader.check("batch-partition", title="Batch splits accepted and rejected records", points=5, skill="error-handling",
              dimension=Dimension.INTEGRATION, criterion=9, probe="batch")
def check_batch(evidence, data: Hidden):
    # Judged against the learner's own map_account on the same accounts: a mapping mistake costs the
    # check it belongs to, and only map_batch's own work (who, in what order, index, source_id) counts here.
    lines, not_judged, raised, judged_with_rejections = [], [], [], 0
    for name, batch, (singles, whole) in zip(BATCH_NAMES, data.batches, evidence):
        answers = [answer(r) for r in singles]
        stray = next((i for i, a in enumerate(answers) if a.kind == "error"), None)
        if stray is not None:
            not_judged.append(f"{name}, account #{stray}: {answers[stray].text}")
            continue
        judged_with_rejections += any(a.kind == "rejected" for a in answers)
        if not whole.ok:
            raised.append(whole.problem())
            lines.append(f"{name}: map_batch() must never raise for a rejected record: {whole.problem()}")
            continue
        lines += partition(whole.value, batch, answers, name)
    if not judged_with_rejections:
        return failed("map_batch() cannot be judged on its own: map_account() gives neither a customer nor Rejected "
                      "for some accounts of every batch with bad records (see the failed map_account checks)",
                      "\n".join(not_judged[:4]))
    if raised and len(raised) == len(lines):  # it never returned: say why, not how a partition differs
        return failed(raised[0] if len(set(raised)) == 1 else f"map_batch() raised on {len(raised)} batches: {raised[0]}",
                      "\n".join(lines[:6]))
    if lines:
        return failed("map_batch() did not partition the batches the way its own map_account() answers say",
                      "\n".join(lines[:6] + not_judged[:2]))
    note = f"; {len(not_judged)} batches not judged, see the failed map_account checks" if not_judged else ""
    return passed(f"{len(data.batches) - len(not_judged)} batches split into accepted and rejected, in order, with "
                  f"index and source_id{note}")


@grader.check("batch-no-mutation", title="Batch never mutates its input", points=5, skill="data-mapping",
              dimension=Dimension.INTEGRATION, criterion=9, probe="batch-untouched")
def check_no_mutation(evidence, data: Hidden):
    sent, accepted, record = evidence
    if len(sent) < MIN_JUDGED:
        return failed("mutation cannot be judged: map_account() gives neither a customer nor Rejected for almost "
                      "every account (see the failed map_account checks)")
    if record.args_after is None:
        return failed(f"map_batch(): {record.problem() or 'the input could not be read back'}")
    value = record.value if record.ok and isinstance(record.value, dict) else {}
    parts = [value.get("accepted"), value.get("rejected")]
    seen = min(len(sent), accepted + 1)  # a batch that stops at its first rejection saw this many
    if not all(isinstance(p, list) for p in parts) or sum(len(p) for p in parts) < seen:
        # An empty or partial answer proves nothing about mutation.
        return failed(f"map_batch() did not return a result for the first {seen} of the {len(sent)} accounts, so "
                      "mutation cannot be judged", record.problem() or f"returned {show(record.value, 100)}")
    after = record.args_after[0] if isinstance(record.args_after, (list, tuple)) and record.args_after else None
    if same(after, sent):
        return passed(f"the {len(sent)} input accounts (padded, blank and bad ones included) were unchanged")
    if not isinstance(after, list) or len(after) != len(sent):
        return failed("map_batch() changed the caller's list of accounts",
                      f"length before {len(sent)}, after: {kind_of(after)} {show(after, 60)}")
    for i, (before, now) in enumerate(zip(sent, after)):
        if not same(before, now):
            keys = sorted(set(before) | set(now), key=repr) if isinstance(now, dict) else []
            diff = [f"{k}: was {show(before.get(k, '<absent>'))}, now {show(now.get(k, '<absent>'))}"
                    for k in keys if not same(before.get(k, "<absent>"), now.get(k, "<absent>"))]
            return failed("map_batch() changed the caller's account dicts",
                          f"account #{i} ({label(before)}) after the call:\n  "
                          + "\n  ".join(diff[:3] or [f"now {kind_of(now)} {show(now)}"]))
    return failed("map_batch() changed the caller's list of accounts")


def _schema() -> dict:
    return json.loads((paths.LABS / "map-customer" / "customer.schema.json").read_text(encoding="utf-8"))


@grader.check("schema-valid", title="Every customer validates against the target schema", points=5,
              skill="schema-validation", dimension=Dimension.API_DATA, criterion=10, probe="valid")
def check_schema(records, data: Hidden):
    # A field whose value is wrong is its own check's business; here: the customer's shape (the
    # eight keys and no others) and whatever no field check judges.
    validator = jsonschema.Draft202012Validator(_schema())
    rows, customers = [], 0
    for record, case in zip(records, data.valid):
        got = answer(record)
        if got.kind != "customer":
            continue
        customers += 1
        want = outcome(case.account, data.lookups)
        wrong = {k for k in want if not same(got.customer.get(k, "<absent>"), want[k])}
        errors = []
        try:
            found = list(validator.iter_errors(got.customer))
        except (RecursionError, TypeError, ValueError) as exc:  # values no JSON document could hold
            found, errors = [], [f"(customer): cannot be validated: {type(exc).__name__}"]
        for error in found:
            where = [str(p) for p in error.path]
            if where and where[0] in wrong:
                continue
            errors.append(f"{'/'.join(where) or '(customer)'}: {error.message[:100]}")
        if errors:
            rows.append((label(case.account, case.note), sorted(errors)))
    if not customers:
        return failed("no customer came back for any valid account, so nothing could be validated")
    if rows:
        return failed(f"{len(rows)} of {customers} customers do not validate against customer.schema.json",
                      mismatch_table(rows, customers))
    return passed(f"all {customers} customers validate against customer.schema.json (wrong field values are "
                  "judged by their own checks)")


assert set(OWNER) == set(CODES)
