"""The hidden mutants of mapping-tests: the correct mapper with one realistic bug each.

At least one mutant per clause of the mapping contract (labs/mapping-tests/README.md): each rule
of the date, lookup, blank, phone and batch sections, and each step of the validation order,
grouped in families that are each one check. A suite that skips a clause lets its mutant survive
and loses that share of the family's points. The correct mapper is the lab's
``starter/mapper.py``, the one learners run their tests against; every mutant patches its text.
"""
from __future__ import annotations

import functools
import types
from typing import NamedTuple

from ... import paths
from ...results import Dimension

__all__ = ["Family", "Mutant", "FAMILIES", "MUTANTS", "CORRECT", "CONTROL_B", "implementation"]

CORRECT, CONTROL_B = "correct", "correct-again"


class Family(NamedTuple):
    """A group of mutants judged by one check, ``mutants-<id>``, titled "Tests catch <noun>"."""

    id: str
    points: float
    criterion: int
    skill: str
    dimension: Dimension
    noun: str
    scope: str


FAMILIES = (
    Family("dates", 15, 4, "timezones", Dimension.API_DATA, "date and time-zone bugs",
           "how CreatedDate and TimeZone become created_at, or INVALID_DATE"),
    Family("lookups", 15, 5, "lookups", Dimension.API_DATA, "lookup bugs",
           "Status and BillingCountry through the lookup tables, and reading the lookup CSV files"),
    Family("blanks", 15, 6, "validation", Dimension.API_DATA, "blank-field and trimming bugs",
           "what blank means for required and optional fields, the order required fields are checked in, "
           "trimming, Email lower-casing and keys the table does not list"),
    Family("phone", 10, 7, "data-mapping", Dimension.API_DATA, "phone bugs",
           "the E.164 phone rule, step by step, and bad phone numbers"),
    Family("batch", 10, 8, "error-handling", Dimension.INTEGRATION, "batch bugs",
           "map_batch on a mix of good and bad records, and what it does to its input"),
)


class Mutant(NamedTuple):
    """The correct mapper with one realistic bug: text patches, each matching exactly once."""

    name: str
    family: str
    summary: str
    patches: tuple[tuple[str, str], ...]

    def apply(self, source: str) -> str:
        for old, new in self.patches:
            if source.count(old) != 1:
                raise ValueError(f"mutant {self.name}: patch text found {source.count(old)} times, expected once")
            source = source.replace(old, new)
        return source


# Text of starter/mapper.py that several mutants patch.
_CHECK_REQUIRED = "    for field in REQUIRED_FIELDS:\n        if not values[field]:\n"
_VALUES = "    values = {field: _text(account.get(field)) for field in REQUIRED_FIELDS}\n"
_STATUS = 'status = lookups["status"].get(values["Status"].upper())'
_STATUS_BLOCK = ('    status = lookups["status"].get(values["Status"].upper())\n    if status is None:\n'
                 '        raise Rejected("UNKNOWN_STATUS", "Status")\n\n')
_COUNTRY_BLOCK = ('    country_code = values["BillingCountry"].upper()\n'
                  '    country = lookups["country"].get(country_code)\n    if country is None:\n'
                  '        raise Rejected("UNKNOWN_COUNTRY", "BillingCountry")\n\n')
_ZONE_AND_DATE = '    zone = _zone(values["TimeZone"])\n    created_at = _created_at(values["CreatedDate"], zone)\n'
_PHONE_LINES = ('    raw_phone = _text(account.get("Phone"))\n'
                '    phone = _phone(raw_phone, country) if raw_phone else None\n')
_EMAIL = '    email = _text(account.get("Email")).lower() or None\n'
_LOCAL = ("        local = datetime(\n            int(year), int(month), int(day),\n"
          "            int(hour), int(minute), int(second),\n            tzinfo=zone,\n        )\n")
_TO_UTC = "        utc = local.astimezone(timezone.utc)\n"
_TRUNK = ('        trunk = country["trunk_prefix"]\n        if trunk and number.startswith(trunk):\n'
          '            number = number[len(trunk):]\n')
_SEPARATORS = '_PHONE_SEPARATORS = re.compile(r"[ \\-.()]")'
_E164 = '_E164 = re.compile(r"\\+[1-9][0-9]{7,14}")'
_REJECTION_END = '                    "field": problem.field,\n                }\n            )\n'
_SOURCE_ID = '"source_id": _text(account.get("AccountId")) or None,'


def _m(name: str, family: str, summary: str, *patches: tuple[str, str]) -> Mutant:
    return Mutant(name, family, summary, tuple(patches))


MUTANTS = (
    # -- dates: CreatedDate and TimeZone to created_at, or INVALID_DATE ------------------------
    _m("day-month-swapped", "dates", "CreatedDate read as MM/DD/YYYY",
       ("    day, month, year,", "    month, day, year,")),
    _m("timezone-dropped", "dates", "CreatedDate treated as UTC; TimeZone checked but never applied",
       ("            tzinfo=zone,\n", "            tzinfo=timezone.utc,\n")),
    _m("dst-ignored", "dates", "each zone's standard time used all year (summer time never applied)",
       (_TO_UTC, "        utc = (local.replace(tzinfo=None) - (local.utcoffset() - local.dst()))"
                 ".replace(tzinfo=timezone.utc)\n")),
    _m("summer-by-northern-months", "dates",
       "summer time assumed from April to October, as in the northern hemisphere (January offset + 1 h)",
       (_TO_UTC, "        offset = zone.utcoffset(datetime(int(year), 1, 1))\n"
                 "        if 4 <= int(month) <= 10:\n            offset += __import__('datetime').timedelta(hours=1)\n"
                 "        utc = (local.replace(tzinfo=None) - offset).replace(tzinfo=timezone.utc)\n")),
    _m("offset-sign-flipped", "dates", "the UTC offset added instead of subtracted",
       (_TO_UTC, "        utc = (local.replace(tzinfo=None) + local.utcoffset()).replace(tzinfo=timezone.utc)\n")),
    _m("seconds-dropped", "dates", "the optional :SS is read but dropped (seconds always 00)",
       ("            int(hour), int(minute), int(second),\n", "            int(hour), int(minute), 0,\n")),
    _m("seconds-rejected", "dates", "a CreatedDate with :SS is rejected as INVALID_DATE",
       ("    match = _CREATED_DATE.fullmatch(text)\n",
        '    match = _CREATED_DATE.fullmatch(text) if text.count(":") == 1 else None\n')),
    _m("date-from-local-day", "dates", "created_at keeps the local date and only converts the time",
       ('    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")',
        '    return local.strftime("%Y-%m-%dT") + utc.strftime("%H:%M:%SZ")')),
    _m("format-not-zulu", "dates", "created_at written as +00:00 instead of Z (isoformat)",
       ('    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")', "    return utc.isoformat()")),
    _m("impossible-date-rolls-over", "dates", "an impossible day rolls over (31/02 becomes 2 March) instead of INVALID_DATE",
       (_LOCAL, "        local = datetime(int(year), int(month), 1, int(hour), int(minute), int(second), tzinfo=zone)"
                " + __import__('datetime').timedelta(days=int(day) - 1)\n")),
    _m("iso-date-accepted", "dates", "a CreatedDate in ISO order (YYYY-MM-DD HH:MM) is accepted instead of INVALID_DATE",
       ('    if match is None:\n        raise Rejected("INVALID_DATE", "CreatedDate")\n',
        '    if match is None:\n        try:\n            iso = datetime.fromisoformat(text)\n'
        '        except ValueError:\n            raise Rejected("INVALID_DATE", "CreatedDate") from None\n'
        '        return iso.replace(tzinfo=zone).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")\n')),
    _m("unknown-zone-blamed-on-date", "dates", "an unknown TimeZone is reported as INVALID_DATE on CreatedDate",
       ('raise Rejected("INVALID_DATE", "TimeZone") from None', 'raise Rejected("INVALID_DATE", "CreatedDate") from None')),
    _m("unknown-zone-defaults-utc", "dates", "an unknown TimeZone silently becomes UTC instead of INVALID_DATE",
       ('        raise Rejected("INVALID_DATE", "TimeZone") from None', '        return ZoneInfo("UTC")')),
    _m("date-checked-before-zone", "dates", "CreatedDate validated before TimeZone, against the contract's order",
       (_ZONE_AND_DATE, '    _created_at(values["CreatedDate"], timezone.utc)\n' + _ZONE_AND_DATE)),

    # -- lookups: Status and BillingCountry, and load_lookups ---------------------------------
    _m("status-default", "lookups", "an unknown Status becomes ACTIVE instead of UNKNOWN_STATUS",
       (_STATUS, _STATUS[:-1] + ', "ACTIVE")')),
    _m("status-case-sensitive", "lookups", "Status looked up as typed (trimmed, not upper-cased)",
       (_STATUS, 'status = lookups["status"].get(values["Status"])')),
    _m("status-not-trimmed", "lookups", "Status upper-cased but not trimmed before the lookup",
       (_STATUS, 'status = lookups["status"].get(account["Status"].upper())')),
    _m("country-case-sensitive", "lookups", "BillingCountry looked up as typed (trimmed, not upper-cased)",
       ('    country = lookups["country"].get(country_code)\n',
        '    country = lookups["country"].get(values["BillingCountry"])\n')),
    _m("country-not-trimmed", "lookups", "BillingCountry upper-cased but not trimmed",
       ('    country_code = values["BillingCountry"].upper()\n', '    country_code = account["BillingCountry"].upper()\n')),
    _m("country-as-typed", "lookups", "country in the customer is the trimmed BillingCountry, not upper-cased",
       ('        "country": country_code,', '        "country": values["BillingCountry"],')),
    _m("country-defaults-home", "lookups", "an unknown BillingCountry is mapped as GB instead of UNKNOWN_COUNTRY",
       ('    if country is None:\n        raise Rejected("UNKNOWN_COUNTRY", "BillingCountry")\n',
        '    if country is None:\n        country = {"region": "EMEA", "dial_code": "44", "trunk_prefix": "0"}\n')),
    _m("country-before-status", "lookups", "BillingCountry looked up before Status, against the contract's order",
       (_STATUS_BLOCK + _COUNTRY_BLOCK, _COUNTRY_BLOCK + _STATUS_BLOCK)),
    _m("bom-not-stripped", "lookups", "load_lookups reads the CSV files as plain utf-8, byte-order mark included",
       ('encoding="utf-8-sig"', 'encoding="utf-8"')),
    _m("lookup-keys-as-written", "lookups", "load_lookups keeps the codes' case as written in the files",
       ('        row["crm_status"].upper(): row["erp_status"]', '        row["crm_status"]: row["erp_status"]'),
       ('        row["country"].upper(): {', '        row["country"]: {')),
    _m("lookup-values-padded", "lookups", "load_lookups trims the codes but not the other values",
       ("            cells = [cell.strip() for cell in cells]\n",
        "            cells = [cells[0].strip(), *cells[1:]] if cells else cells\n")),
    _m("blank-lines-kept", "lookups", "load_lookups turns a blank line into an entry with an empty code",
       ("            if not any(cells):\n                continue\n", "")),
    _m("empty-trunk-as-none", "lookups", "an empty trunk_prefix is loaded as None instead of \"\"",
       ('            "trunk_prefix": row["trunk_prefix"],', '            "trunk_prefix": row["trunk_prefix"] or None,')),

    # -- blanks: what blank means, required order, trimming, lower-casing, unknown keys --------
    _m("whitespace-is-present", "blanks", 'a required field of only spaces counts as present (only None and "" are blank)',
       (_CHECK_REQUIRED, _CHECK_REQUIRED.replace("not values[field]", 'account.get(field) in (None, "")'))),
    _m("null-required-is-text", "blanks", 'a null required field is read as the text "None"',
       (_VALUES, '    values = {field: str(account.get(field, "")).strip() for field in REQUIRED_FIELDS}\n')),
    _m("absent-required-crashes", "blanks", "an absent required key raises KeyError instead of Rejected",
       (_VALUES, "    values = {field: _text(account[field]) for field in REQUIRED_FIELDS}\n")),
    _m("name-not-required", "blanks", "a blank AccountName is accepted (name becomes \"\")",
       (_CHECK_REQUIRED, "    for field in REQUIRED_FIELDS:\n        if not values[field] and field != \"AccountName\":\n")),
    _m("blank-status-unknown", "blanks", "a blank Status is looked up and reported as UNKNOWN_STATUS",
       (_CHECK_REQUIRED, "    for field in REQUIRED_FIELDS:\n        if not values[field] and field != \"Status\":\n")),
    _m("blank-date-invalid", "blanks", "a blank CreatedDate is parsed and reported as INVALID_DATE",
       (_CHECK_REQUIRED, "    for field in REQUIRED_FIELDS:\n        if not values[field] and field != \"CreatedDate\":\n")),
    _m("timezone-defaults-utc", "blanks", "a blank TimeZone silently defaults to UTC instead of being rejected",
       (_CHECK_REQUIRED, _CHECK_REQUIRED.replace("REQUIRED_FIELDS:", "REQUIRED_FIELDS[:-1]:")),
       ('zone = _zone(values["TimeZone"])', 'zone = _zone(values["TimeZone"] or "UTC")')),
    _m("required-alphabetical", "blanks", "required fields checked in alphabetical order, not the table's",
       (_CHECK_REQUIRED, _CHECK_REQUIRED.replace("in REQUIRED_FIELDS:", "in sorted(REQUIRED_FIELDS):"))),
    _m("required-after-lookups", "blanks", "the Status lookup runs before the required-field check",
       (_CHECK_REQUIRED + '            raise Rejected("MISSING_REQUIRED_FIELD", field)\n\n' + _STATUS_BLOCK,
        _STATUS_BLOCK + _CHECK_REQUIRED + '            raise Rejected("MISSING_REQUIRED_FIELD", field)\n\n')),
    _m("blank-email-kept", "blanks", 'an Email of "" or spaces becomes "" instead of null',
       (_EMAIL, '    email = None if account.get("Email") is None else _text(account["Email"]).lower()\n')),
    _m("empty-email-is-present", "blanks", 'blank tested with isspace(): an Email of "" becomes "" instead of null',
       (_EMAIL, '    email = None if account.get("Email") is None or account["Email"].isspace() '
                'else account["Email"].strip().lower()\n')),
    _m("null-optional-as-text", "blanks", 'a null Email is read as the text "none"',
       (_EMAIL, '    email = str(account.get("Email", "")).strip().lower() or None\n')),
    _m("absent-optional-crashes", "blanks", "an absent Email key raises KeyError",
       (_EMAIL, '    email = _text(account["Email"]).lower() or None\n')),
    _m("blank-phone-rejected", "blanks", "a Phone of only spaces is normalised and rejected as INVALID_PHONE",
       ('    raw_phone = _text(account.get("Phone"))\n', '    raw_phone = account.get("Phone") or ""\n')),
    _m("email-not-lowercased", "blanks", "Email trimmed but not lower-cased",
       (_EMAIL, '    email = _text(account.get("Email")) or None\n')),
    _m("email-not-trimmed", "blanks", "Email lower-cased but not trimmed",
       (_EMAIL, '    email = (account.get("Email") or "").lower() if _text(account.get("Email")) else None\n')),
    _m("id-not-trimmed", "blanks", "customer_id built from the AccountId as typed, spaces included",
       ('        "customer_id": "CRM-" + values["AccountId"],', '        "customer_id": "CRM-" + account["AccountId"],')),
    _m("name-not-trimmed", "blanks", "name is the AccountName as typed, spaces included",
       ('        "name": values["AccountName"],', '        "name": account["AccountName"],')),
    _m("extra-keys-copied", "blanks", "source keys the table does not list are copied into the customer",
       ('    return {\n        "customer_id"', '    return {\n        **{k: v for k, v in account.items() '
                                                  'if k not in REQUIRED_FIELDS + ("Email", "Phone")},\n        "customer_id"')),

    # -- phone: the E.164 rule step by step -------------------------------------------------
    _m("trunk-prefix-kept", "phone", "national numbers keep their trunk prefix after the dial code", (_TRUNK, "")),
    _m("dial-code-missing", "phone", "national numbers get a + but no dial code",
       ('        candidate = "+" + country["dial_code"] + number', '        candidate = "+" + number')),
    _m("dots-kept", "phone", "dots are not removed as separators", (_SEPARATORS, '_PHONE_SEPARATORS = re.compile(r"[ \\-()]")')),
    _m("dashes-kept", "phone", "dashes are not removed as separators", (_SEPARATORS, '_PHONE_SEPARATORS = re.compile(r"[ .()]")')),
    _m("parentheses-kept", "phone", "parentheses are not removed as separators",
       (_SEPARATORS, '_PHONE_SEPARATORS = re.compile(r"[ \\-.]")')),
    _m("all-non-digits-removed", "phone", "every non-digit is removed, so letters and 'ext' vanish instead of INVALID_PHONE",
       ('    number = _PHONE_SEPARATORS.sub("", text)', '    number = re.sub(r"[^0-9+]", "", text)')),
    _m("double-zero-as-national", "phone", "a number starting with 00 is treated as national",
       ('    elif number.startswith("00"):\n        candidate = "+" + number[2:]\n', "")),
    _m("plus-gets-dial-code", "phone", "a number starting with + gets the billing country's dial code put in front",
       ('    if number.startswith("+"):\n        candidate = number\n',
        '    if number.startswith("+"):\n        candidate = "+" + country["dial_code"] + number[1:]\n')),
    _m("foreign-plus-rejected", "phone", "a + number with another country's code is rejected as INVALID_PHONE",
       ('    if number.startswith("+"):\n        candidate = number\n',
        '    if number.startswith("+"):\n        candidate = number if number.startswith("+" + country["dial_code"]) else ""\n')),
    _m("trunk-stripped-repeatedly", "phone", "the trunk prefix is stripped as often as it repeats (lstrip), not once",
       ("            number = number[len(trunk):]\n", "            number = number.lstrip(trunk)\n")),
    _m("trunk-removed-anywhere", "phone", "the first trunk digit anywhere in the number is removed, not only a leading one",
       (_TRUNK, '        trunk = country["trunk_prefix"]\n        if trunk and trunk in number:\n'
                '            number = number.replace(trunk, "", 1)\n')),
    _m("trunk-always-zero", "phone", "a leading 0 is dropped even for a country without trunk prefix",
       ('        trunk = country["trunk_prefix"]\n', '        trunk = country["trunk_prefix"] or "0"\n')),
    _m("too-long-accepted", "phone", "16 digits after the + are accepted",
       (_E164, '_E164 = re.compile(r"\\+[1-9][0-9]{7,15}")')),
    _m("too-short-accepted", "phone", "7 digits after the + are accepted",
       (_E164, '_E164 = re.compile(r"\\+[1-9][0-9]{6,14}")')),
    _m("leading-zero-accepted", "phone", "a 0 right after the + is accepted",
       (_E164, '_E164 = re.compile(r"\\+[0-9][0-9]{7,14}")')),
    _m("invalid-phone-nulled", "phone", "a phone that cannot be normalised becomes null instead of INVALID_PHONE",
       (_PHONE_LINES.splitlines(keepends=True)[1],
        "    try:\n        phone = _phone(raw_phone, country) if raw_phone else None\n"
        "    except Rejected:\n        phone = None\n")),
    _m("phone-checked-before-date", "phone", "Phone validated before CreatedDate, against the contract's order",
       (_ZONE_AND_DATE + "\n" + _PHONE_LINES, _PHONE_LINES + _ZONE_AND_DATE)),

    # -- batch: partial failure, and the caller's data ---------------------------------------
    _m("batch-stops-early", "batch", "map_batch stops at the first rejected record",
       (_REJECTION_END, _REJECTION_END + "            break\n")),
    _m("index-from-one", "batch", "rejections are numbered from 1, not 0",
       ('                    "index": index,', '                    "index": index + 1,')),
    _m("index-counts-rejections", "batch", "index counts the rejections instead of giving the position in the batch",
       ('                    "index": index,', '                    "index": len(rejected),')),
    _m("source-id-untrimmed", "batch", "source_id is the AccountId as typed, spaces included",
       (_SOURCE_ID, '"source_id": account.get("AccountId") if _text(account.get("AccountId")) else None,')),
    _m("blank-source-id-empty", "batch", 'source_id of a blank AccountId is "" instead of None',
       (_SOURCE_ID, '"source_id": _text(account.get("AccountId")),')),
    _m("rejected-as-placeholder", "batch", "a rejected record leaves a None in accepted, to keep positions",
       ("        except Rejected as problem:\n", "        except Rejected as problem:\n            accepted.append(None)\n")),
    _m("input-mutated", "batch", "map_account tidies the caller's account in place (trims, upper-cases, adds keys)",
       (_VALUES, "    for key, value in list(account.items()):\n        if isinstance(value, str):\n"
                 "            account[key] = value.strip().upper() if key in ('Status', 'BillingCountry') else value.strip()\n"
                 "    account.setdefault('Email', None)\n    account.setdefault('Phone', None)\n" + _VALUES)),
    _m("rejected-removed-from-input", "batch", "map_batch deletes the rejected records from the caller's list",
       ('    return {"accepted": accepted, "rejected": rejected}',
        '    for entry in reversed(rejected):\n        del accounts[entry["index"]]\n'
        '    return {"accepted": accepted, "rejected": rejected}')),
)


@functools.cache
def implementation(name: str) -> types.ModuleType:
    """The correct mapper, or the mutant called ``name``, as a private module."""
    source = (paths.LABS / "mapping-tests" / "starter" / "mapper.py").read_text(encoding="utf-8")
    if name not in (CORRECT, CONTROL_B):
        source = next(m for m in MUTANTS if m.name == name).apply(source)
    module = types.ModuleType(f"iclab_mapping_{name.replace('-', '_')}")
    exec(compile(source, f"<mapper: {name}>", "exec"), module.__dict__)
    return module
