"""Hidden data for map-customer, designed per acceptance criterion (the table is ``COVERAGE``).

Everything is generated from the grader's seed and differs from the visible fixtures: other
account ids, status codes, countries, dial codes and trunk prefixes. Each group exercises one
criterion's edge classes; ``Case.topic`` names the check a crash on that account is charged to.
"""
from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass

from .oracle import REQUIRED, Rejection, blank, outcome

__all__ = ["Case", "Several", "Hidden", "make_hidden", "hidden_files", "LOOKUP_DIR", "COVERAGE"]

LOOKUP_DIR = "hidden_lookups"

STATUS_ROWS = [
    ("ACT", "ACTIVE"), ("ACTV", "ACTIVE"), ("A1", "ACTIVE"), ("PROS", "PROSPECT"), ("LEAD", "PROSPECT"),
    ("HOLD", "SUSPENDED"), ("CRHOLD", "SUSPENDED"), ("CLSD", "CLOSED"), ("TERM", "CLOSED"),
]
COUNTRY_ROWS = [
    ("GB", "EMEA", "44", "0"), ("DE", "EMEA", "49", "0"), ("ES", "EMEA", "34", ""), ("ZA", "EMEA", "27", "0"),
    ("US", "AMER", "1", "1"), ("CA", "AMER", "1", "1"), ("AR", "LATAM", "54", "0"), ("MX", "LATAM", "52", ""),
    ("JP", "APAC", "81", "0"), ("SG", "APAC", "65", ""), ("NZ", "APAC", "64", "0"), ("AU", "APAC", "61", "0"),
    ("IT", "EMEA", "39", ""), ("HU", "EMEA", "36", "06"),
]
ZONES = {"GB": "Europe/London", "DE": "Europe/Berlin", "ES": "Europe/Madrid", "ZA": "Africa/Johannesburg",
         "US": "America/Chicago", "CA": "America/Toronto", "AR": "America/Argentina/Buenos_Aires",
         "MX": "America/Mexico_City", "JP": "Asia/Tokyo", "SG": "Asia/Singapore", "NZ": "Pacific/Auckland",
         "AU": "Australia/Sydney", "IT": "Europe/Rome", "HU": "Europe/Budapest"}
NAMES = ["Harbour Freight Partners", "Kestrel Analytics", "Blue Fern Dental", "Oakridge Logistics",
         "Quayside Marine", "Lumen Print Works", "Saltmarsh Foods", "Granite Peak Insurance", "Tidewater Clinics",
         "Copperleaf Studios", "Northgate Pharmacy", "Riverbend Farms", "Silverline Couriers", "Maple & Finch",
         "Aurora Textiles", "Pinecrest Schools", "Beacon Hill Legal", "Starling Robotics"]
BLANK_FORMS = ("absent", None, "", "   ", " \t ")

# Wall times at the edges of the date rule: both DST directions in both hemispheres, the skipped and
# the repeated hour (the ticket: offset before the change, first occurrence), non-whole offsets,
# crossing midnight and the new year, the leap day, seconds present or not.
DATE_EDGES = (
    ("31/03/2024 00:59", "Europe/London", "winter time, a minute before the spring change"),
    ("31/03/2024 01:30", "Europe/London", "skipped hour (clocks forward): offset before the change"),
    ("31/03/2024 02:00", "Europe/London", "summer time, just after the spring change"),
    ("27/10/2024 00:59:59", "Europe/London", "summer time, just before the autumn change"),
    ("27/10/2024 01:30", "Europe/London", "repeated hour (clocks back): first occurrence"),
    ("27/10/2024 02:00", "Europe/London", "winter time, after the autumn change"),
    ("10/03/2024 02:30", "America/Chicago", "skipped hour, western hemisphere"),
    ("03/11/2024 01:15:30", "America/Chicago", "repeated hour, western hemisphere, with seconds"),
    ("07/04/2024 02:30", "Australia/Sydney", "repeated hour, southern autumn"),
    ("06/10/2024 02:30", "Australia/Sydney", "skipped hour, southern spring"),
    ("06/10/2024 03:00", "Australia/Sydney", "southern summer time, just after the change"),
    ("29/09/2024 02:45", "Pacific/Auckland", "skipped hour, southern spring"),
    ("15/01/2024 09:00", "Pacific/Auckland", "southern summer: the previous UTC day"),
    ("15/07/2024 09:00", "Pacific/Auckland", "southern winter: the previous UTC day"),
    ("20/12/2023 22:00", "America/Los_Angeles", "evening: the next UTC day"),
    ("31/12/2023 21:30", "America/Chicago", "new year's eve: the next UTC year"),
    ("01/01/2024 05:00", "Pacific/Auckland", "new year's morning: the previous UTC year"),
    ("29/02/2024 23:30", "America/Los_Angeles", "leap day: 1 March in UTC"),
    ("14/06/2023 10:00", "Asia/Kolkata", "offset +05:30"),
    ("02/01/2024 10:00:30", "Australia/Adelaide", "offset +10:30 in southern summer"),
    ("02/07/2024 10:00", "Australia/Adelaide", "offset +09:30 in southern winter"),
    ("05/08/2022 12:00", "America/St_Johns", "offset -02:30 in summer"),
    ("05/02/2022 12:00:00", "America/St_Johns", "offset -03:30 in winter, explicit :00 seconds"),
    ("11/11/2021 11:11:11", "Asia/Kathmandu", "offset +05:45"),
    ("03/04/2024 03:04:05", "Pacific/Chatham", "offset +13:45"),
    ("12/05/2024 08:00", "Etc/GMT+5", "Etc/GMT+5 is five hours behind UTC"),
    ("06/05/2024 08:00", "UTC", "UTC itself"),
    ("04/07/2024 12:00", "Europe/Madrid", "day and month both 12 or less"),
    ("01/12/2024 00:00", "Europe/Berlin", "midnight"),
)

# Phones at each step of the phone rule, with the hidden countries' dial codes and trunk prefixes.
PHONE_EDGES = (
    ("GB", "020 7946 0321", "trunk prefix 0 dropped, dial code added"),
    ("GB", "20 7946 0321", "national number without its trunk prefix"),
    ("US", "1-415-555-0100", "trunk prefix 1 dropped"),
    ("US", "(415) 555-0100", "parentheses, no trunk prefix"),
    ("CA", "11 416 555 0199", "trunk prefix dropped once, not twice"),
    ("HU", "06 1 234 5678", "two-digit trunk prefix 06"),
    ("IT", "06 6988 4857", "no trunk prefix: a leading 0 stays"),
    ("ES", "912.345.678", "dots, country without trunk prefix"),
    ("MX", "55-1234-5678", "dashes, country without trunk prefix"),
    ("SG", "6123 4567", "eight-digit national number"),
    ("AU", "(02) 9374 4321", "trunk prefix inside parentheses"),
    ("AR", " 011 4321-5678 ", "spaces around the number"),
    ("JP", "+81 3-1234-5678", "+ kept, separators removed"),
    ("GB", "+44 (0) 20 7946 0321", "+ kept as it is: the (0) stays"),
    ("ZA", "+1 555 010 0123", "+ with another country's code"),
    ("DE", "0049 30 901821", "00 becomes +"),
    ("NZ", "0061 2 9374 4321", "00 with another country's code"),
    ("US", "+1234 5678", "8 digits after +: the shortest valid"),
    ("JP", "+123 456 789 012 345", "15 digits after +: the longest valid"),
    ("MX", "55 1234 5678 901", "national number reaching 15 digits"),
)
BAD_VALUES = (
    ("Status", "GOLD", "unknown code"), ("Status", "inactive", "unknown code, lower case"),
    ("Status", "ACTIVE", "an ERP status is not a CRM code"), ("Status", "AC", "prefix of a known code"),
    ("Status", "A 1", "known code with a space inside"), ("Status", "SUSP", "a code of the visible fixtures only"),
    ("BillingCountry", "FR", "a country of the visible fixtures only"), ("BillingCountry", "UK", "UK is not GB"),
    ("BillingCountry", "USA", "three letters"), ("BillingCountry", "G B", "space inside"),
    ("TimeZone", "Mars/Olympus_Mons", "no such zone"), ("TimeZone", "Central Standard Time", "a Windows zone name"),
    ("TimeZone", "GMT+1", "not an IANA name"), ("TimeZone", "Europe/London/", "malformed key (ValueError)"),
    ("TimeZone", "../../etc/passwd", "path outside the zone database (ValueError)"),
    ("CreatedDate", "31/02/2024 10:00", "31 February"), ("CreatedDate", "29/02/2023 12:00", "29 February, no leap year"),
    ("CreatedDate", "31/04/2024 09:00", "31 April"), ("CreatedDate", "00/01/2024 10:00", "day 0"),
    ("CreatedDate", "12/31/2024 10:00", "month first (month 31)"), ("CreatedDate", "15/06/2024 25:00", "hour 25"),
    ("CreatedDate", "15/06/2024 23:60", "minute 60"), ("CreatedDate", "2024-03-14 09:05", "ISO order"),
    ("CreatedDate", "14/03/2024", "no time"), ("CreatedDate", "14/03/2024 09:05 PM", "12-hour clock"),
    ("CreatedDate", "14/03/24 09:05", "two-digit year"), ("CreatedDate", "14-03-2024 09:05", "dashes"),
    ("Phone", "555-CALL-NOW", "letters"), ("Phone", "020 7946 0321 ext 12", "extension"),
    ("Phone", "020 7946 0321 x12", "x extension"), ("Phone", "+44 20 7946 0321#", "#"),
    ("Phone", "020/7946/0321", "slash is not a separator"), ("Phone", "+44+20 7946 0321", "second +"),
    ("Phone", "+0 20 7946 0321", "0 after +"), ("Phone", "000 20 7946 0321", "00 then 0"),
    ("Phone", "+123 4567", "7 digits after +"), ("Phone", "+1234 5678 9012 3456", "16 digits after +"),
    ("Phone", "55 1234 5678 9012", "national number past 15 digits (MX)"), ("Phone", "1234", "too short (SG)"),
    ("Phone", "()", "only separators"), ("Phone", "-", "only a dash"),
    ("Phone", "\uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff13\uff12\uff11", "full-width digits are not [0-9]"),
)
BAD_COUNTRY = {"national number past 15 digits (MX)": "MX", "too short (SG)": "SG"}


@dataclass(frozen=True)
class Case:
    """One hidden account, the edge class it stands for, and the check a crash on it is charged to."""

    account: dict
    note: str
    topic: str
    twin: dict | None = None  # for an account with one problem: the same account without it


@dataclass(frozen=True)
class Several:
    """An account with several problems, and the same account with each problem alone."""

    account: dict
    note: str
    singles: tuple[dict, ...]


@dataclass(frozen=True)
class Hidden:
    lookups: dict
    valid: tuple[Case, ...]
    optional: tuple[Case, ...]
    missing: tuple[Case, ...]
    bad: tuple[Case, ...]
    bad_phones: tuple[Case, ...]
    several: tuple[Several, ...]
    batches: tuple[tuple[dict, ...], ...]
    untouched: tuple[dict, ...]


def _lookups() -> dict:
    return {
        "status": dict(STATUS_ROWS),
        "country": {c: {"region": r, "dial_code": d, "trunk_prefix": t} for c, r, d, t in COUNTRY_ROWS},
    }


def _variant(code: str, k: int) -> str:
    """Case and surrounding-space variants of a code (criteria 2, 4, 5)."""
    return (code, code.lower(), f" {code} ", code.title(), f"  {code.lower()}", f"{code.title()} ")[k % 6]


def _plain(rng: random.Random, i: int) -> dict:
    """A valid account whose values take the simplest path through the contract.

    Each topic's accounts vary only their own aspect on top of it, so a bug that crashes on one
    aspect crashes that topic's accounts and is charged to that topic's check alone.
    """
    code, _, dial, _ = COUNTRY_ROWS[i % len(COUNTRY_ROWS)]
    created = dt.datetime(2021 + rng.randrange(4), rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24),
                          rng.randrange(60))
    name = NAMES[(i * 7) % len(NAMES)]
    return {
        "AccountId": f"001H{rng.randrange(10**6):06d}{i:02d}",
        "AccountName": name,
        "Status": STATUS_ROWS[(i * 5) % len(STATUS_ROWS)][0],
        "BillingCountry": code,
        "CreatedDate": created.strftime("%d/%m/%Y %H:%M"),
        "TimeZone": ZONES[code],
        "Email": f"ops@{name.split()[0].lower()}.example",
        "Phone": f"+{dial}{rng.choice('23456789')}{rng.randrange(10**8):08d}",
    }


def _identity(rng: random.Random, i: int) -> dict:
    """AccountId and AccountName padded every way (tab included); unknown extra keys (criterion 2)."""
    account = _plain(rng, i)
    ident, name = account["AccountId"], account["AccountName"]
    account["AccountId"] = (ident, f"  {ident} ", f"{ident} ", f" {ident}", f"\t{ident}")[i % 5]
    account["AccountName"] = (f" {name} ", name, f"{name}  ", f"\t{name}", f" {name}\t")[i % 5]
    extras = ({"Industry": "Retail"}, {"OwnerId": f"005H{i:06d}", "Industry": None}, {}, {"Website": " "})
    account.update(extras[i % 4])
    return account


def _created(rng: random.Random, i: int) -> dict:
    """Wall times on both sides of every DST change, with and without seconds (criterion 3)."""
    account = _plain(rng, i)
    month = rng.choice([1, 2, 3, 4, 6, 7, 8, 10, 11, 12])
    seconds = (None, 0, 7, 42)[i % 4]
    created = dt.datetime(2021 + rng.randrange(4), month, rng.randint(1, 28), rng.choice([0, 6, 9, 13, 18, 23]),
                          rng.randrange(60), seconds or 0)
    account["CreatedDate"] = created.strftime("%d/%m/%Y %H:%M" if seconds is None else "%d/%m/%Y %H:%M:%S")
    return account


def _national(rng: random.Random, dial: str, trunk: str, style: int) -> str:
    body = rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(8))
    if style == 0:
        return f"+{dial} {body[:3]} {body[3:6]} {body[6:]}"
    if style == 1:
        return f"00{dial}-{body[:2]}-{body[2:]}"
    if style == 2 and trunk:
        return f"({trunk}{body[:3]}) {body[3:6]}.{body[6:]}"
    if style == 3 and trunk:
        return f"{trunk} {body[:3]} {body[3:]}"
    return f"{body[:3]}-{body[3:6]}-{body[6:]}"


def _valid(rng: random.Random) -> list[Case]:
    cases = [Case(_identity(rng, i), "AccountId/AccountName padded, extra keys", "identity") for i in range(10)]
    account = _plain(rng, 10)
    account["AccountName"] = " Blue  Fern Dental "
    cases.append(Case(account, "inner spaces of a name are kept", "identity"))
    for k, (code, _) in enumerate(STATUS_ROWS * 2):  # every code, six case/space variants across them
        account = _plain(rng, 20 + k)
        account["Status"] = _variant(code, k)
        cases.append(Case(account, f"Status {account['Status']!r}", "status"))
    for k, row in enumerate(COUNTRY_ROWS):
        account = _plain(rng, 42 + k)  # i % 14 == k: the plain account's own country
        account["BillingCountry"] = _variant(row[0], k)
        cases.append(Case(account, f"BillingCountry {account['BillingCountry']!r}", "region"))
    cases += [Case(_created(rng, 60 + k), "local time either side of DST", "created_at") for k in range(16)]
    for k, (created, zone, note) in enumerate(DATE_EDGES):
        account = _plain(rng, 100 + k)
        account.update(CreatedDate=created, TimeZone=zone)
        cases.append(Case(account, note, "created_at"))
    country_of = {row[0]: k for k, row in enumerate(COUNTRY_ROWS)}
    for k, (country, phone, note) in enumerate(PHONE_EDGES):
        account = _plain(rng, 14 * (15 + k) + country_of[country])
        account["Phone"] = phone
        cases.append(Case(account, note, "phone"))
    for k, (code, _, dial, trunk) in enumerate(COUNTRY_ROWS * 2):  # each country, each writing style
        account = _plain(rng, 14 * (40 + k // 14) + k % 14)
        account["Phone"] = _national(rng, dial, trunk, k % 5)
        cases.append(Case(account, "phone as people type it", "phone"))
    return cases


def _optional(rng: random.Random) -> list[Case]:
    cases = []
    for k, (fields, form) in enumerate(itertools.product((("Email",), ("Phone",), ("Email", "Phone")), BLANK_FORMS)):
        account = _plain(rng, 400 + k)
        account["Email"] = (f"Billing@X{k}.Example", f" ops@x{k}.example ", f"AP@X{k}.EXAMPLE ")[k % 3]
        for name in fields:
            if form == "absent":
                del account[name]
            else:
                account[name] = form
        cases.append(Case(account, f"{' and '.join(fields)} {form!r}", "blank"))
    return cases


def _missing(rng: random.Random) -> list[Case]:
    cases = []
    for k, (name, form) in enumerate(itertools.product(REQUIRED, BLANK_FORMS)):
        twin = _plain(rng, 500 + k)
        account = _with(twin, [(name, form)])
        cases.append(Case(account, f"{name} {form!r}", "missing", twin))
    return cases


def _bad(rng: random.Random) -> list[Case]:
    cases = []
    for k, (name, value, note) in enumerate(BAD_VALUES):
        twin = _plain(rng, 600 + k)
        if note in BAD_COUNTRY:
            twin["BillingCountry"] = BAD_COUNTRY[note]
        account = _with(twin, [(name, value)])
        cases.append(Case(account, f"{name} {note}", "phone" if name == "Phone" else "bad", twin))
    return cases


# One problem per validation step: what each step's problem does to an account.
def _problems(k: int) -> dict:
    return {
        "Status": ("Status", ("GOLD", "inactive", "AC")[k % 3]),
        "BillingCountry": ("BillingCountry", ("FR", "UK", "USA")[k % 3]),
        "TimeZone": ("TimeZone", ("Mars/Olympus_Mons", "Central Standard Time", "Europe/London/")[k % 3]),
        "CreatedDate": ("CreatedDate", ("31/02/2024 10:00", "2024-03-14 09:05", "15/06/2024 25:00")[k % 3]),
        "Phone": ("Phone", ("555-CALL-NOW", "+123 4567", "020 7946 0321 ext 12")[k % 3]),
    }


def _blank_form(value) -> bool:
    return value == "absent" or blank(value)


def _with(base: dict, changes) -> dict:
    account = dict(base)
    for name, value in changes:
        if value == "absent":
            account.pop(name, None)
        else:
            account[name] = value
    return account


def _several(rng: random.Random) -> list[Several]:
    """Accounts with two or more problems in every combination of validation steps (criterion 8)."""
    steps = ("Status", "BillingCountry", "TimeZone", "CreatedDate", "Phone")
    combos: list[tuple[tuple[str, object], ...]] = []
    k = itertools.count()
    for a, b in itertools.combinations(REQUIRED, 2):  # two blank required fields
        n = next(k)
        combos.append(((a, BLANK_FORMS[n % 5]), (b, BLANK_FORMS[(n + 2) % 5])))
    for name, step in itertools.product(REQUIRED, steps):  # a blank required field and a bad value
        if name != step:
            n = next(k)
            combos.append(((name, BLANK_FORMS[n % 5]), _problems(n)[step]))
    for a, b in itertools.combinations(steps, 2):  # two bad values
        n = next(k)
        combos.append((_problems(n)[a], _problems(n + 1)[b]))
    for chosen in (steps[:3], steps[2:], steps[::2], steps[1::2] + steps[:1], steps):  # three or more
        n = next(k)
        combos.append(tuple(_problems(n + j)[s] for j, s in enumerate(chosen)))
    n = next(k)
    combos.append((("Phone", "absent"), ("Email", "  ")) + (_problems(n)["Status"],))  # blank optional is no problem
    out = []
    for j, changes in enumerate(combos):
        base = _plain(rng, 700 + j)
        account = _with(base, changes)
        if j % 2:  # keys in reverse order: the contract's order decides, not the record's
            account = dict(reversed(account.items()))
        singles = tuple(_with(base, [c]) for c in changes if not (c[0] in ("Email", "Phone") and _blank_form(c[1])))
        note = " + ".join(f"{name} {value!r}" for name, value in changes)
        out.append(Several(account, note, singles))
    return out


def _batches(rng: random.Random, valid, optional, missing, bad, several) -> tuple[tuple[dict, ...], ...]:
    """Batches with rejections first, in the middle (alone and in a run) and last; an empty batch."""
    good = [c.account for c in valid[:12]] + [c.account for c in optional[:3]]
    rejects = [c.account for c in missing[::3]] + [c.account for c in bad[::4]] + [s.account for s in several[::9]]
    rng.shuffle(good)
    rng.shuffle(rejects)
    mixed = [rejects[0], good[0], good[1], rejects[1], good[2], rejects[2], rejects[3], good[3], good[4],
             rejects[4], good[5], good[6], good[7], rejects[5]]
    middle = [good[8], good[9], rejects[6], good[10], good[11], good[8]]  # an account given twice
    only_rejects = rejects[7:11]
    return tuple(tuple(b) for b in (mixed, middle, only_rejects, ()))


def make_hidden(rng: random.Random) -> Hidden:
    lookups = _lookups()
    valid, optional, missing, bad = _valid(rng), _optional(rng), _missing(rng), _bad(rng)
    several = _several(rng)
    _prove(lookups, valid, optional, missing, bad, several)
    batches = _batches(rng, valid, optional, missing, bad, several)
    untouched = [c.account for c in valid[:6] + optional[::4] + missing[::6] + bad[::9]] + [s.account for s in several[::15]]
    # Invalid phones are the phone rule's step 5, judged with the valid phones (criterion 7).
    phones = tuple(c for c in bad if c.topic == "phone")
    return Hidden(lookups, tuple(valid), tuple(optional), tuple(missing), tuple(c for c in bad if c.topic != "phone"),
                  phones, tuple(several), batches, tuple(untouched))


def _prove(lookups, valid, optional, missing, bad, several) -> None:
    """Each group holds what it claims: a wrong hidden case would grade learners unfairly."""
    for case in valid + optional:
        assert isinstance(outcome(case.account, lookups), dict), case
    for case in missing + bad:
        assert isinstance(outcome(case.twin, lookups), dict), case
    for case in missing:
        assert outcome(case.account, lookups).code == "MISSING_REQUIRED_FIELD", case
    for case in bad:
        got = outcome(case.account, lookups)
        assert isinstance(got, Rejection) and got.code != "MISSING_REQUIRED_FIELD", case
    for item in several:
        firsts = [outcome(s, lookups) for s in item.singles]
        assert all(isinstance(f, Rejection) for f in firsts) and len({f.field for f in firsts}) == len(firsts), item
        assert isinstance(outcome(item.account, lookups), Rejection), item


def hidden_files(data: Hidden) -> dict[str, bytes]:
    """Hidden lookup CSVs: BOM, CRLF or LF, keys in any case, padded values and blank lines."""
    status = "crm_status,erp_status\r\n" + "".join(
        f" {k.lower() if i % 3 == 1 else k} , {v} \r\n" + ("\r\n" if i == 4 else "") for i, (k, v) in enumerate(STATUS_ROWS)
    ) + "\r\n"
    countries = "country,region,dial_code,trunk_prefix\n" + "".join(
        f"{c.lower() if i % 3 == 0 else c},{r} , {d},{t} \n" + ("\n" if i == 4 else "") for i, (c, r, d, t) in enumerate(COUNTRY_ROWS)
    ) + "\n\n"
    return {
        f"{LOOKUP_DIR}/status_codes.csv": ("\ufeff" + status).encode("utf-8"),
        f"{LOOKUP_DIR}/countries.csv": ("\ufeff" + countries).encode("utf-8"),
    }


COVERAGE = {
    1: ("byte-order mark, CRLF and LF line ends, blank lines inside and at the end — hidden_files()",
        "keys in lower case and padded, padded values, empty trunk_prefix — hidden_files() STATUS_ROWS/COUNTRY_ROWS"),
    2: ("AccountId and AccountName padded left, right, both, with tabs; inner spaces kept — _identity(), _valid()",
        "BillingCountry upper, lower, title case, padded either side, for all 14 countries — _valid() _variant()",
        "unknown extra keys (Industry, OwnerId, null and blank values) ignored — _identity()"),
    3: ("both DST directions in both hemispheres, a minute either side — DATE_EDGES",
        "skipped hour (offset before) and repeated hour (first occurrence) — DATE_EDGES",
        "offsets +05:30, +05:45, +09:30/+10:30, -03:30/-02:30, +13:45, Etc/GMT+5 — DATE_EDGES",
        "previous/next UTC day and year, leap day; seconds absent, :00 and non-zero — DATE_EDGES, _created()"),
    4: ("every hidden status code, six case/space variants across them — _valid() _variant()",
        "unknown: ERP value, prefix, inner space, visible-only code, lower-case unknown — BAD_VALUES"),
    5: ("every hidden country in case/space variants — _valid() _variant()",
        "unknown: visible-only FR, UK, USA, inner space — BAD_VALUES"),
    6: ("Email, Phone and both: absent, null, \"\", spaces, tab — _optional()",
        "present Email padded, mixed and upper case — _optional()"),
    7: ("each rule step: separators . - ( ) space, +, 00, trunk 0/1/06 dropped once, no trunk, own and foreign codes — PHONE_EDGES",
        "every country in five typing styles — _valid() _national()",
        "8 and 15 digits valid; 7 and 16 digits, 0 after +, letters, ext, #, /, second +, full-width digits, only separators invalid — PHONE_EDGES, BAD_VALUES"),
    8: ("each required field in each blank form (absent, null, \"\", spaces, tab) — _missing()",
        "each unusable Status, BillingCountry, TimeZone and CreatedDate class — BAD_VALUES (phones: criterion 7)",
        "two or more problems in every pair of validation steps, blank pairs, triples, all five, keys in reverse order — _several()"),
    9: ("rejections first, last, alone and in a run in the middle; only rejections; an empty batch; an account twice — _batches()",
        "source_id from padded and blank AccountIds — _missing() accounts in _batches()",
        "input with padded values, absent optional keys and rejected accounts checked unchanged — make_hidden() untouched"),
    10: ("every valid account's customer checked for keys beyond the eight — _valid()",
         "accounts with extra source keys (Industry, OwnerId, Website) — _identity()"),
}
