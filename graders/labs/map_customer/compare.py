"""Judging map-customer's answers against the oracle, one criterion at a time.

A wrong answer is charged to the check that owns it: a valid account wrongly rejected to the
check owning the code (``OWNER``), a crash to the check its account was made for, and a wrong
answer that the account's twin without its problem also gets to the check of that other field.
"""
from __future__ import annotations

from ...checks import failed, passed
from ...evidence import mismatch_table
from .answers import Answer, answer, kind_of, label, same, show
from .hidden import Case, Hidden
from .oracle import Rejection, outcome

__all__ = ["OWNER", "MIN_JUDGED", "compare_fields", "field_rows", "compare_rejections", "rejection_rows", "unjudged",
           "expected_rejection", "source_id", "partition"]

# A valid account wrongly rejected is charged to the check owning the code it was rejected with.
OWNER = {"UNKNOWN_STATUS": "status", "UNKNOWN_COUNTRY": "region", "INVALID_DATE": "created_at",
         "INVALID_PHONE": "phone", "MISSING_REQUIRED_FIELD": "identity"}
MIN_JUDGED = 3


def compare_fields(records, cases: tuple[Case, ...], data: Hidden, fields: tuple[str, ...], what: str, owner: str):
    """Judge ``fields`` of the customers; a rejection or crash counts only when ``owner`` owns it."""
    rows, judged = field_rows(records, cases, data, fields, owner)
    if judged < min(MIN_JUDGED, len(cases)):
        return failed(f"only {judged} of {len(cases)} valid accounts came back as customers, too few to judge {what}",
                      "see the other failed checks for why the rest were not mapped")
    if rows:
        return failed(f"{len(rows)} of {judged} valid accounts have a wrong {what}", mismatch_table(rows, judged))
    return passed(f"{what} correct for all {judged} valid accounts")


def field_rows(records, cases: tuple[Case, ...], data: Hidden, fields: tuple[str, ...], owner: str):
    """Mismatch rows for ``fields`` of valid accounts, and how many accounts this check could judge."""
    rows, judged = [], 0
    for record, case in zip(records, cases):
        want, got = outcome(case.account, data.lookups), answer(record)
        if got.kind == "customer":
            judged += 1
            diff = [f"{f}: expected {show(want.get(f))}, got {show(got.customer.get(f, '<absent>'))}"
                    for f in fields if not same(got.customer.get(f, "<absent>"), want.get(f))]
            if diff:
                rows.append((label(case.account, case.note), diff))
        elif OWNER.get(got.code, case.topic) == owner:  # an error's code is "": its account's topic owns it
            judged += 1
            rows.append((label(case.account, case.note), [f"expected a customer, but it {got.describe()}"]))
    return rows, judged


def compare_rejections(pairs, cases: tuple[Case, ...], data: Hidden, what: str, message: bool = False):
    """Judge accounts with one problem each: rejected with the right code and field."""
    rows, judged = rejection_rows(pairs, cases, data, message)
    if not judged:
        return failed(f"none of the {len(cases)} {what} can be judged: map_account() gives the same wrong answer for "
                      "each of them without its problem (see the failed checks of valid accounts)")
    if rows:
        return failed(f"{len(rows)} of {judged} {what} were not rejected with the right code and field",
                      mismatch_table(rows, judged))
    return passed(f"all {judged} {what} rejected with the right code and field" + unjudged(len(cases) - judged))


def unjudged(n: int) -> str:
    """The note for accounts left to other checks."""
    return f" ({n} not judged: map_account() answers the same without their problem)" if n else ""


def rejection_rows(pairs, cases: tuple[Case, ...], data: Hidden, message: bool = False):
    """Rows for accounts with one problem; a wrong answer its twin (no problem) also gets is another check's."""
    rows, judged = [], 0
    for (record, twin), case in zip(pairs, cases):
        want, got = outcome(case.account, data.lookups), answer(record)
        if got.kind != "customer" and _same_answer(got, answer(twin)) and (got.code, got.field) != (want.code, want.field):
            continue  # it rejects (or crashes on) the account even without the problem: not this check's mistake
        judged += 1
        if got.kind != "rejected" or (got.code, got.field) != (want.code, want.field):
            rows.append((label(case.account, case.note), [f"expected Rejected({want.code!r}, {want.field!r})",
                                                           f"but it {got.describe()}"]))
        elif message and got.message != want.message:
            rows.append((label(case.account, case.note), [
                f"str(Rejected) is {show(got.message)}, expected {want.message!r} (keep the starter's Rejected class)"]))
    return rows, judged


def _same_answer(a: Answer, b: Answer) -> bool:
    return a.kind == b.kind and (a.code, a.field) == (b.code, b.field)


def expected_rejection(account: dict, data: Hidden) -> tuple[str, str]:
    want = outcome(account, data.lookups)
    return (want.code, want.field) if isinstance(want, Rejection) else ("", "")


def source_id(account: dict):
    value = account.get("AccountId")
    return value.strip() if isinstance(value, str) and value.strip() else None


def partition(value, batch, answers: list[Answer], name: str) -> list[str]:
    """What is wrong with one map_batch result, judged against the learner's own map_account answers."""
    if not isinstance(value, dict):
        return [f"{name}: map_batch() returned {kind_of(value)}; a dict with 'accepted' and 'rejected' was expected"]
    want = {
        "accepted": [a.customer for a in answers if a.kind == "customer"],
        "rejected": [{"index": i, "source_id": source_id(account), "code": a.code, "field": a.field}
                     for i, (a, account) in enumerate(zip(answers, batch)) if a.kind == "rejected"],
    }
    lines = []
    for key, what in (("accepted", "customers map_account() returns"), ("rejected", "rejections")):
        have = value.get(key, "<absent>")
        if not isinstance(have, list):
            lines.append(f"{name}: {key!r} is {kind_of(have)}; a list was expected")
            continue
        if same(have, want[key]):
            continue
        line = f"{name}: {key}: expected the {len(want[key])} {what}, in input order; got {len(have)} entries"
        first = next((i for i, (w, h) in enumerate(zip(want[key], have)) if not same(w, h)), min(len(have), len(want[key])))
        if first < len(want[key]):
            line += f"; entry {first} should be {show(want[key][first], 90)}, got {show(have[first] if first < len(have) else '<none>', 90)}"
        else:
            line += f"; unexpected entry {first}: {show(have[first], 90)}"
        lines.append(line)
    return lines
