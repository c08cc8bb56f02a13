"""Hidden checks for map-customer (Exercise A, mapping part).

The grader's own oracle computes every expected value from hidden accounts
and hidden lookup tables generated from a fixed seed, so copying the visible
fixtures' expected output earns nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema

from .. import paths
from ..checks import Grader, failed, passed
from ..evidence import field_diff, mismatch_table, show
from ..results import Dimension

REQUIRED = ("AccountId", "AccountName", "Status", "BillingCountry", "CreatedDate", "TimeZone")
LOOKUP_DIR = "hidden_lookups"

STATUS_ROWS = [
    ("ACT", "ACTIVE"), ("ACTV", "ACTIVE"), ("A1", "ACTIVE"), ("PROS", "PROSPECT"), ("LEAD", "PROSPECT"),
    ("HOLD", "SUSPENDED"), ("CRHOLD", "SUSPENDED"), ("CLSD", "CLOSED"), ("TERM", "CLOSED"),
]
COUNTRY_ROWS = [
    ("GB", "EMEA", "44", "0"), ("DE", "EMEA", "49", "0"), ("ES", "EMEA", "34", ""), ("ZA", "EMEA", "27", "0"),
    ("US", "AMER", "1", "1"), ("CA", "AMER", "1", "1"), ("AR", "LATAM", "54", "0"), ("MX", "LATAM", "52", ""),
    ("JP", "APAC", "81", "0"), ("SG", "APAC", "65", ""), ("NZ", "APAC", "64", "0"), ("AU", "APAC", "61", "0"),
]
ZONES = {"GB": "Europe/London", "DE": "Europe/Berlin", "ES": "Europe/Madrid", "ZA": "Africa/Johannesburg",
         "US": "America/Chicago", "CA": "America/Toronto", "AR": "America/Argentina/Buenos_Aires",
         "MX": "America/Mexico_City", "JP": "Asia/Tokyo", "SG": "Asia/Singapore", "NZ": "Pacific/Auckland",
         "AU": "Australia/Sydney"}
NAMES = ["Harbour Freight Partners", "Kestrel Analytics", "Blue Fern Dental", "Oakridge Logistics",
         "Quayside Marine", "Lumen Print Works", "Saltmarsh Foods", "Granite Peak Insurance", "Tidewater Clinics",
         "Copperleaf Studios", "Northgate Pharmacy", "Riverbend Farms", "Silverline Couriers", "Maple & Finch",
         "Aurora Textiles", "Pinecrest Schools", "Beacon Hill Legal", "Starling Robotics"]


class Rejected(Exception):
    def __init__(self, code: str, field: str):
        super().__init__(f"{code}: {field}")
        self.code, self.field = code, field


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _phone(raw: str, country: dict) -> str:
    digits = re.sub(r"[ \-.()]", "", raw)
    if digits.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    else:
        trunk = country["trunk_prefix"]
        if trunk and digits.startswith(trunk):
            digits = digits[len(trunk):]
        number = "+" + country["dial_code"] + digits
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", number):
        raise Rejected("INVALID_PHONE", "Phone")
    return number


def oracle(account: dict, lookups: dict) -> dict:
    """The contract's mapping, used only to compute expected values."""
    for name in REQUIRED:
        if _blank(account.get(name)):
            raise Rejected("MISSING_REQUIRED_FIELD", name)
    status = lookups["status"].get(account["Status"].strip().upper())
    if status is None:
        raise Rejected("UNKNOWN_STATUS", "Status")
    code = account["BillingCountry"].strip().upper()
    country = lookups["country"].get(code)
    if country is None:
        raise Rejected("UNKNOWN_COUNTRY", "BillingCountry")
    try:
        zone = ZoneInfo(account["TimeZone"].strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise Rejected("INVALID_DATE", "TimeZone") from None
    text = account["CreatedDate"].strip()
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"):
        try:
            local = dt.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise Rejected("INVALID_DATE", "CreatedDate")
    created = local.replace(tzinfo=zone).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    email = None if _blank(account.get("Email")) else account["Email"].strip().lower()
    phone = None if _blank(account.get("Phone")) else _phone(account["Phone"], country)
    return {
        "customer_id": "CRM-" + account["AccountId"].strip(), "name": account["AccountName"].strip(),
        "status": status, "country": code, "region": country["region"], "created_at": created,
        "email": email, "phone": phone,
    }


_EXPECTED: dict[str, object] = {}


def oracle_outcome(account: dict, lookups: dict):
    """Expected outcome for one account; memoised, as hidden data never changes between gradings."""
    key = json.dumps([account, lookups], sort_keys=True)
    if key not in _EXPECTED:
        try:
            _EXPECTED[key] = oracle(account, lookups)
        except Rejected as exc:
            _EXPECTED[key] = ("Rejected", exc.code, exc.field)
    return _EXPECTED[key]


# -- hidden data --------------------------------------------------------------
@dataclass(frozen=True)
class Hidden:
    lookups: dict
    valid: tuple
    blanks: tuple
    missing: tuple
    bad: tuple
    batch: tuple


def _lookups() -> dict:
    return {
        "status": {k: v for k, v in STATUS_ROWS},
        "country": {c: {"region": r, "dial_code": d, "trunk_prefix": t} for c, r, d, t in COUNTRY_ROWS},
    }


def _national(rng: random.Random, country: str, dial: str, trunk: str) -> str:
    body = "".join(rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(8)))
    style = rng.randrange(4)
    if style == 0:
        return f"+{dial} {body[:3]} {body[3:6]} {body[6:]}"
    if style == 1:
        return f"00{dial}-{body[:2]}-{body[2:]}"
    if style == 2 and trunk:
        return f"({trunk}{body[:3]}) {body[3:6]}.{body[6:]}"
    return f"{body[:3]}-{body[3:6]}-{body[6:]}"


def _account(rng: random.Random, i: int, messy: bool = True) -> dict:
    code, _, dial, trunk = COUNTRY_ROWS[i % len(COUNTRY_ROWS)]
    status = STATUS_ROWS[rng.randrange(len(STATUS_ROWS))][0]
    month = rng.choice([1, 2, 3, 4, 6, 7, 8, 10, 11, 12])  # both sides of every DST change
    created = dt.datetime(2021 + rng.randrange(4), month, rng.randint(1, 28), rng.choice([0, 6, 9, 13, 18, 23]),
                          rng.randrange(60), rng.choice([0, 0, 7, 42]))
    fmt = "%d/%m/%Y %H:%M" if created.second == 0 else "%d/%m/%Y %H:%M:%S"
    name = rng.choice(NAMES)
    return {
        "AccountId": f"  001H{rng.randrange(10**6):06d}{i:02d} " if i % 3 == 0 else f"001H{rng.randrange(10**6):06d}{i:02d}",
        "AccountName": f" {name} " if i % 2 else name,
        "Status": rng.choice([status, status, status, status.lower(), f" {status.title()} "]) if messy else status,
        "BillingCountry": rng.choice([code, code, code, code.lower(), f" {code} "]) if messy else code,
        "CreatedDate": created.strftime(fmt),
        "TimeZone": ZONES[code],
        "Email": rng.choice([f"Billing@{name.split()[0].lower()}.example", f" ops@{name.split()[0].lower()}.example "]),
        "Phone": _national(rng, code, dial, trunk),
        "Industry": rng.choice(["Retail", "Health", "Logistics", None]),
    }


def make_hidden(rng: random.Random) -> Hidden:
    valid = tuple(_account(rng, i) for i in range(24))
    blanks = []
    for i, form in enumerate([None, "", "   ", "absent"] * 2):
        acc = _account(rng, 40 + i)
        for key in (("Email", "Phone") if i < 4 else (("Email",) if i % 2 else ("Phone",))):
            if form == "absent":
                del acc[key]
            else:
                acc[key] = form
        blanks.append(acc)
    missing = []
    for i, name in enumerate(REQUIRED + REQUIRED[1:4]):
        acc = _account(rng, 60 + i, messy=False)
        form = [None, "", "  ", "absent"][i % 4]
        if form == "absent":
            del acc[name]
        else:
            acc[name] = form
        missing.append(acc)
    bad_values = [("Status", "GOLD"), ("Status", "inactive"), ("BillingCountry", "FR"), ("BillingCountry", "UK"),
                  ("CreatedDate", "31/02/2024 10:00"), ("CreatedDate", "2024-03-14 09:05"),
                  ("TimeZone", "Mars/Olympus_Mons"), ("Phone", "555-CALL-NOW"), ("Phone", "+0123 4567"),
                  ("Phone", "12 34")]
    bad = []
    for i, (key, value) in enumerate(bad_values):
        acc = _account(rng, 80 + i, messy=False)
        acc[key] = value
        bad.append(acc)
    batch = list(valid[:8]) + blanks[:3] + missing[:4] + bad[:5]
    rng.shuffle(batch)
    return Hidden(_lookups(), valid, tuple(blanks), tuple(missing), tuple(bad), tuple(batch))


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """Hidden lookup CSVs: BOM, padded values and blank lines, as real exports have."""
    status = "crm_status,erp_status\r\n" + "".join(f" {k} , {v}\r\n" for k, v in STATUS_ROWS) + "\r\n"
    countries = "country,region,dial_code,trunk_prefix\n" + "".join(
        f"{c.lower() if i % 3 == 0 else c},{r} ,{d},{t}\n" + ("\n" if i == 4 else "") for i, (c, r, d, t) in enumerate(COUNTRY_ROWS)
    ) + "\n\n"
    return {
        f"{LOOKUP_DIR}/status_codes.csv": ("\ufeff" + status).encode("utf-8"),
        f"{LOOKUP_DIR}/countries.csv": ("\ufeff" + countries).encode("utf-8"),
    }


grader = Grader(seed=20261124, data=make_hidden, files=hidden_files, preload=True)


# -- probes: run the submission, keep frozen records --------------------------
@grader.probe("lookups")
def _probe_lookups(run):
    return run.call("mapper:load_lookups", LOOKUP_DIR)


def _each(run, accounts):
    return run.call_many("mapper:map_account", [(a, run.data.lookups) for a in accounts])


@grader.probe("valid")
def _probe_valid(run):
    return _each(run, run.data.valid)


@grader.probe("blanks")
def _probe_blanks(run):
    return _each(run, run.data.blanks)


@grader.probe("missing")
def _probe_missing(run):
    return _each(run, run.data.missing)


@grader.probe("bad")
def _probe_bad(run):
    return _each(run, run.data.bad)


@grader.probe("batch")
def _probe_batch(run):
    return run.call("mapper:map_batch", list(run.data.batch), run.data.lookups)


@grader.probe("batch-valid")
def _probe_batch_valid(run):
    return run.call("mapper:map_batch", list(run.data.valid), run.data.lookups, watch_args=True)


# -- checks: judge the records ------------------------------------------------
def _label(account: dict) -> str:
    return str(account.get("AccountId", "<no AccountId>")).strip() or "<blank AccountId>"


def _got(record):
    if record.ok:
        return record.value
    if record.error is not None and record.error.type == "Rejected":
        return ("Rejected", record.error.attrs.get("code"), record.error.attrs.get("field"))
    return ("error", record.problem())


# A valid account wrongly rejected counts against the check that owns the rejected field,
# so one mistake costs one criterion instead of cascading through every field check.
OWNER = {"UNKNOWN_STATUS": "status", "UNKNOWN_COUNTRY": "region", "INVALID_DATE": "created_at",
         "INVALID_PHONE": "phone", "MISSING_REQUIRED_FIELD": "identity"}
BLANK_OWNED = {"INVALID_PHONE", "MISSING_REQUIRED_FIELD"}  # what a mishandled blank optional field turns into


def _compare_fields(records, accounts, lookups, fields, what: str, total_label: str, owner: str | None = None):
    rows = []
    judged = 0
    for record, account in zip(records, accounts):
        want = oracle_outcome(account, lookups)
        got = _got(record)
        if isinstance(got, tuple):
            if owner == "blank":
                mine = got[0] == "error" or got[1] in BLANK_OWNED
            else:
                mine = (got[0] == "Rejected" and OWNER.get(got[1]) == owner) or (got[0] == "error" and owner == "identity")
            if mine:
                if got[0] == "error":
                    detail = got[1]
                else:
                    source = account.get(got[2], "<absent>") if isinstance(got[2], str) else "?"
                    detail = f"rejected it with {got[1]} on {got[2]} = {show(source, 40)}"
                    if isinstance(want, dict) and fields:
                        detail += f" (expected {fields[-1]} {show(want.get(fields[-1]), 40)})"
                rows.append((_label(account), [f"expected a customer, but {detail}"]))
                judged += 1
            continue
        judged += 1
        diff = field_diff(want, got, fields)
        if diff:
            rows.append((_label(account), diff))
    if judged < min(3, len(accounts)):
        return failed(f"only {judged} of {len(accounts)} {total_label} came back as customers, too few to judge {what}",
                      "see the other failed checks for why the rest were not mapped")
    if rows:
        return failed(f"{len(rows)} of {judged} {total_label} have a wrong {what}", mismatch_table(rows, judged))
    return passed(f"{what} correct for all {judged} {total_label}")


def _compare_rejections(records, accounts, lookups, what: str):
    rows = []
    for record, account in zip(records, accounts):
        want = oracle_outcome(account, lookups)
        got = _got(record)
        if got != want:
            expected = f"Rejected({want[1]!r}, field {want[2]!r})"
            if isinstance(got, dict):
                actual = f"returned a customer {show(got, 70)}"
            elif got[0] == "Rejected":
                actual = f"Rejected({got[1]!r}, field {got[2]!r})"
            else:
                actual = got[1]
            rows.append((_label(account), [f"expected {expected}", f"got {actual}"]))
    if rows:
        return failed(f"{len(rows)} of {len(accounts)} {what} were not rejected with the right code and field",
                      mismatch_table(rows, len(accounts)))
    return passed(f"all {len(accounts)} {what} rejected with the right code and field")


@grader.check("lookups-load", title="Lookup tables load from CSV", points=5, skill="lookups",
              dimension=Dimension.API_DATA, criterion=1, probe="lookups")
def check_lookups(record, data):
    if not record.ok:
        return failed(f"load_lookups() on the hidden lookup folder: {record.problem()}", record.error.traceback if record.error else "")
    got, want = record.value, data.lookups
    if not isinstance(got, dict):
        return failed(f"load_lookups() returned {type(got).__name__}, expected a dict", show(got))
    lines = []
    for table in ("status", "country"):
        have = got.get(table)
        if not isinstance(have, dict):
            lines.append(f"{table}: expected a dict, got {show(have, 60)}")
            continue
        for key in sorted(set(want[table]) | set(have)):
            if want[table].get(key) != have.get(key):
                lines.append(f"{table}[{key!r}]: expected {show(want[table].get(key), 70)}, got {show(have.get(key), 70)}")
    if lines:
        return failed(f"{len(lines)} lookup entries differ (hidden files have a BOM, padded values and blank lines)",
                      "\n".join(lines[:6]))
    return passed(f"both tables loaded: {len(want['status'])} status codes, {len(want['country'])} countries")


@grader.check("maps-valid-accounts", title="Identity fields of valid accounts", points=10, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=2, probe="valid")
def check_identity(records, data):
    return _compare_fields(records, data.valid, data.lookups, ("customer_id", "name", "country", "email"),
                           "customer_id, name, country or email", "valid accounts", owner="identity")


@grader.check("created-at-utc", title="created_at converted to UTC", points=10, skill="timezones",
              dimension=Dimension.API_DATA, criterion=3, probe="valid")
def check_created(records, data):
    return _compare_fields(records, data.valid, data.lookups, ("created_at",), "created_at", "valid accounts", owner="created_at")


@grader.check("status-lookup", title="Status mapped through the lookup table", points=10, skill="lookups",
              dimension=Dimension.API_DATA, criterion=4, probe="valid")
def check_status(records, data):
    return _compare_fields(records, data.valid, data.lookups, ("status",), "status", "valid accounts", owner="status")


@grader.check("region-enrichment", title="Region enriched from the country lookup", points=10, skill="lookups",
              dimension=Dimension.API_DATA, criterion=5, probe="valid")
def check_region(records, data):
    return _compare_fields(records, data.valid, data.lookups, ("region",), "region", "valid accounts", owner="region")


@grader.check("blank-handling", title="Blank optional fields become null", points=10, skill="validation",
              dimension=Dimension.API_DATA, criterion=6, probe="blanks")
def check_blanks(records, data):
    # Judge only the fields that were blank in each account; the others belong to other checks.
    rows = []
    for record, account in zip(records, data.blanks):
        blank = [f for f in ("Email", "Phone") if _blank(account.get(f))]
        got = _got(record)
        if isinstance(got, tuple):
            if got[0] == "error" or got[1] in BLANK_OWNED:
                detail = got[1] if got[0] == "error" else f"rejected it with {got[1]} on {got[2]}"
                rows.append((_label(account), [f"expected a customer with {' and '.join(blank)} null, but {detail}"]))
            continue
        lines = [f"{f.lower()}: expected null for {show(account.get(f, '<absent>'))}, got {show(got.get(f.lower()))}"
                 for f in blank if got.get(f.lower(), "<absent>") is not None]
        if lines:
            rows.append((_label(account), lines))
    total = len(data.blanks)
    if rows:
        return failed(f"{len(rows)} of {total} accounts with blank optional fields were mishandled",
                      mismatch_table(rows, total))
    return passed(f"absent, null, empty and whitespace-only Email/Phone became null in all {total} accounts")


@grader.check("phone-e164", title="Phone numbers normalised to E.164", points=10, skill="data-mapping",
              dimension=Dimension.API_DATA, criterion=7, probe="valid")
def check_phone(records, data):
    return _compare_fields(records, data.valid, data.lookups, ("phone",), "phone", "valid accounts", owner="phone")


@grader.check("rejects-missing-required", title="Missing required fields are rejected with a reason code",
              points=10, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=8, probe="missing")
def check_missing(records, data):
    return _compare_rejections(records, data.missing, data.lookups, "accounts with a blank required field")


@grader.check("rejects-unknown-codes", title="Unknown codes and bad values are rejected with a reason code",
              points=10, skill="error-handling", dimension=Dimension.INTEGRATION, criterion=8, probe="bad")
def check_bad(records, data):
    return _compare_rejections(records, data.bad, data.lookups, "accounts with an unknown code or bad value")


@grader.check("batch-partition", title="Batch splits accepted and rejected records", points=5, skill="error-handling",
              dimension=Dimension.INTEGRATION, criterion=9, probe="batch")
def check_batch(record, data):
    if not record.ok:
        return failed(f"map_batch() must never raise for bad records: {record.problem()}",
                      record.error.traceback if record.error else "")
    want_acc, want_rej = [], []
    for i, account in enumerate(data.batch):
        out = oracle_outcome(account, data.lookups)
        if isinstance(out, dict):
            want_acc.append(out)
        else:
            sid = account.get("AccountId")
            want_rej.append({"index": i, "source_id": None if _blank(sid) else sid.strip(), "code": out[1], "field": out[2]})
    got = record.value if isinstance(record.value, dict) else {}
    lines = []
    # Field values are other checks' business; here only who was accepted, in what order.
    have = got.get("accepted")
    have_ids = [c.get("customer_id") if isinstance(c, dict) else c for c in have] if isinstance(have, list) else None
    want_ids = [c["customer_id"] for c in want_acc]
    if have_ids != want_ids:
        count = len(have_ids) if have_ids is not None else "no"
        lines.append(f"accepted: expected {len(want_ids)} customers in input order, got {count}")
        missing_ids = [i for i in want_ids if i not in (have_ids or [])]
        extra_ids = [i for i in (have_ids or []) if i not in want_ids]
        lines += [f"  missing {i}" for i in missing_ids[:2]] + [f"  not expected {i}" for i in extra_ids[:2]]
    if got.get("rejected") != want_rej:
        have = got.get("rejected") if isinstance(got.get("rejected"), list) else []
        missing = [r for r in want_rej if r not in have]
        extra = [r for r in have if r not in want_rej]
        lines.append(f"rejected: expected {len(want_rej)} entries, got {len(have)}")
        lines += [f"  missing {show(r, 100)}" for r in missing[:2]] + [f"  unexpected {show(r, 100)}" for r in extra[:2]]
    if lines:
        return failed("map_batch() did not partition the mixed batch correctly", "\n".join(lines))
    return passed(f"{len(want_acc)} accepted and {len(want_rej)} rejected, in order, with index and reason")


@grader.check("batch-no-mutation", title="Batch never mutates its input", points=5, skill="data-mapping",
              dimension=Dimension.INTEGRATION, criterion=9, probe="batch-valid")
def check_no_mutation(record, data):
    if record.args_after is None:
        return failed(f"map_batch() on valid accounts: {record.problem() or 'the input could not be read back'}")
    sent = list(data.valid)
    value = record.value if record.ok and isinstance(record.value, dict) else {}
    parts = [value.get("accepted"), value.get("rejected")]
    if not all(isinstance(p, list) for p in parts) or sum(len(p) for p in parts) != len(sent):
        # An empty or partial answer proves nothing about mutation.
        return failed(f"map_batch() did not return a result for each of the {len(sent)} accounts, so mutation cannot be judged",
                      record.problem() or f"returned {show(record.value, 100)}")
    after = record.args_after[0] if record.args_after else None
    if after == sent:
        return passed(f"the {len(sent)} input accounts were unchanged after map_batch()")
    for i, (before, now) in enumerate(zip(sent, after or [])):
        diff = field_diff(before, now)
        if diff:
            return failed("map_batch() changed the caller's account dicts",
                          f"account #{i} ({_label(before)}) after the call:\n  " + "\n  ".join(diff[:3]))
    return failed("map_batch() changed the caller's list of accounts", f"length before {len(sent)}, after {len(after or [])}")


def _schema() -> dict:
    return json.loads((paths.LABS / "map-customer" / "customer.schema.json").read_text(encoding="utf-8"))


@grader.check("schema-valid", title="Every customer validates against the target schema", points=5,
              skill="schema-validation", dimension=Dimension.API_DATA, criterion=10, probe="valid")
def check_schema(records, data):
    validator = jsonschema.Draft202012Validator(_schema())
    rows = []
    customers = [r.value for r in records if r.ok]
    for record, account in zip(records, data.valid):
        if not record.ok:
            continue
        errors = sorted(validator.iter_errors(record.value), key=lambda e: list(e.path))
        if errors:
            rows.append((_label(account), [f"{'/'.join(map(str, e.path)) or '(record)'}: {e.message[:100]}" for e in errors]))
    if not customers:
        return failed("no customer came back for any valid account, so nothing could be validated")
    if rows:
        return failed(f"{len(rows)} of {len(customers)} customers do not validate against customer.schema.json",
                      mismatch_table(rows, len(customers)))
    return passed(f"all {len(customers)} customers validate against customer.schema.json")


