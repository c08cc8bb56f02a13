"""Judge findings.toml, the learner's triage of the visible bundle, against the answer key.

The incidents are the visible bundle's (fixtures/log-triage), so this key is
about fixed data; it stays in the grader, which learners cannot read. Every
field earns partial credit per incident, and every miss gets one line saying
what is missing and where to look, without handing over the answer.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone

from ...checks import Outcome, failed, partial, passed

__all__ = ["CATEGORIES", "CONCEPTS", "KEY", "SECRETS", "load", "category", "evidence", "next_step", "mitigation",
           "replay", "no_secrets"]

CATEGORIES = ("auth_credentials", "rate_limited", "target_server_error", "timeout", "contract_change",
              "data_quality", "unsafe_replay")

# The README publishes this vocabulary: a concept counts when the text matches its pattern.
CONCEPTS = {
    "credentials": (r"secret|credential|client[ _-]?id|password|api[ _-]?key|vault|rotat", "secret, credential, vault, rotation"),
    "rate-limit": (r"rate[ -]?limit|quota|throttl|\b429\b|retry[ -]after|too many requests|requests per|burst",
                   "rate limit, quota, Retry-After, 429"),
    "backoff": (r"back[ -]?off|retry[ -]after|exponential|throttl|slow(er| down)|spread|concurren|parallel|pac(e|ing)|queue",
                "backoff, honour Retry-After, throttle, lower concurrency"),
    "target-side": (r"\berp\b[^.;]{0,30}\b(team|support|vendor|owner|admin|side|log|application|developer|fix)|"
                    r"target[ -]?(system|side|team)|vendor|stack ?trace|escalat|pricingservice|application log|server log",
                    "ERP team, escalate, the ERP's log or stack trace"),
    "check-target-state": (r"exist|already|look ?up|query|search|reconcil|verify|confirm|check (whether|if)|duplicat",
                           "check whether it exists / already created, look up, query, reconcile"),
    "idempotency": (r"idempot|upsert|check[ -]before[ -]create|de-?dup|unique|external[ _-]?(id|ref|key)|natural key|"
                    r"business key|order_ref", "idempotency key, upsert, check before create, unique key"),
    "contract": (r"contract|schema|spec|openapi|swagger|release note|change ?log|version|field name|renam|payload",
                 "contract, schema, API version, release notes, renamed field"),
    "mapping": (r"mapping|\bmap\b|remap|renam|field name|transform", "mapping, rename the field"),
    "source-data": (r"\bsource|\bcrm\b|data steward|data owner|master data|account owner|sales ops|vat",
                    "the source record in the CRM, data steward, account owner"),
    "replay": (r"replay|re-?submit|re-?process|re-?run|re-?send|retry|re-?queue|error queue", "replay, resubmit, reprocess"),
    "cleanup": (r"cancel|delete|remov|void|revers|credit note|merge|clean ?up", "cancel, delete, reverse the duplicates"),
}
SAFE_WHY = r"reject|roll(ed)?[ -]?back|nothing|never (reached|got|created|processed|fetched|sent)|not (created|processed|applied|fetched)|\bno (\w+ ){0,2}(order|record|data|change|side|message)|0 orders|idempot|before (anything|any)"
UNSAFE_WHY = r"already|duplicat|twice|again|not idempot|non-idempot|second (order|copy)|was created|created (anyway|after|later)|double"


@dataclass(frozen=True)
class Answer:
    """One incident's key: category, evidence groups, concepts for each text field, replay verdict, clues."""

    category: str
    evidence: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (what the group shows, key lines (cid, ts))
    next_step: tuple[str, ...]
    mitigation: tuple[str, ...]
    replay_safe: bool
    clue: str
    replay_clue: str


def _lines(*pairs: str) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in pairs:
        cid, _, clock = pair.partition("@")
        out.append((cid, f"2024-11-05T{clock}Z"))
    return tuple(out)


KEY = {
    "INC-1": Answer(
        "target_server_error",
        (("the ERP's failure", _lines("c-4b9d07a3@07:15:02.703", "c-4b9d07a3@07:15:02.779")),),
        ("target-side",), ("target-side", "replay"), True,
        "read the ERP's own line for CRM-10482: which system threw the exception, and was the request itself invalid?",
        "the ERP says what happened to the transaction after the exception"),
    "INC-2": Answer(
        "data_quality",
        (("the rejection", _lines("c-19f7b2e4@07:30:02.272", "c-19f7b2e4@07:30:02.336")),),
        ("source-data",), ("source-data", "replay"), True,
        "only this one order failed, on the value of one field; orders from the same poll went through",
        "a 422 rejection: did the ERP keep anything?"),
    "INC-3": Answer(
        "timeout",
        (("the timeout and what the ERP did afterwards",
          _lines("c-c2e860d7@07:30:32.537", "c-c2e860d7@07:30:41.153", "c-c2e860d7@07:30:43.430")),),
        ("check-target-state",), ("idempotency",), False,
        "the runtime gave up after 30 s; compare with what the ERP logged for the same correlation ID afterwards",
        "what did the ERP log after the runtime gave up?"),
    "INC-4": Answer(
        "rate_limited",
        (("the refused write-backs", _lines(
            "c-b8035e7c@07:45:04.000", "c-b8035e7c@07:45:04.151", "c-b8035e7c@07:45:05.000", "c-b8035e7c@07:45:05.151",
            "c-b8035e7c@07:45:06.000", "c-b8035e7c@07:45:06.163", "c-93c1d6a8@07:45:06.000", "c-93c1d6a8@07:45:06.151",
            "c-93c1d6a8@07:45:07.000", "c-93c1d6a8@07:45:07.151", "c-93c1d6a8@07:45:08.000", "c-93c1d6a8@07:45:08.163")),),
        ("rate-limit",), ("backoff",), False,
        "the ERP created both orders; look at what the gateway answered to the write-back and how fast the runtime retried",
        "a replay runs the whole flow again: what did the ERP already do for these orders?"),
    "INC-5": Answer(
        "unsafe_replay",
        (("the original creation", _lines("c-0a6f3e91@07:00:02.646", "c-0a6f3e91@07:00:02.737", "c-0a6f3e91@07:00:03.000",
                                          "c-0a6f3e91@07:00:03.138", "c-7e12c5d8@07:00:05.128", "c-7e12c5d8@07:00:05.219",
                                          "c-7e12c5d8@07:00:06.000", "c-7e12c5d8@07:00:06.138")),
         ("the replay and the second creation", _lines(
             "c-aa31e07f@08:20:11.804", "c-5f8d2c64@08:20:12.210", "c-5f8d2c64@08:20:12.861", "c-5f8d2c64@08:20:12.952",
             "c-0e97b3a5@08:20:14.087", "c-0e97b3a5@08:20:14.738", "c-0e97b3a5@08:20:14.829"))),
        ("check-target-state",), ("cleanup", "idempotency"), False,
        "look at who started work at 08:20 UTC, which messages it picked, and what the ERP did with order_refs it had seen",
        "the replayed orders exist twice already; what would one more replay do?"),
    "INC-6": Answer(
        "contract_change",
        (("the rejected orders and the runtime's warning", _lines(
            "c-27e5f0b9@08:00:01.461", "c-27e5f0b9@08:00:01.845", "c-27e5f0b9@08:00:01.906",
            "c-f06b4a3d@08:00:02.324", "c-f06b4a3d@08:00:02.708", "c-f06b4a3d@08:00:02.769")),),
        ("contract",), ("mapping", "replay"), True,
        "every order since 08:00 UTC failed the same way, and the runtime warned about a field it had never seen",
        "a 400 rejection: did the ERP keep anything?"),
    "INC-7": Answer(
        "auth_credentials",
        (("the refused token requests", _lines("c-3c7b19e4@09:15:01.000", "c-3c7b19e4@09:15:01.260",
                                               "c-f2a84d61@09:30:01.000", "c-f2a84d61@09:30:01.260")),),
        ("credentials",), ("credentials", "replay"), True,
        "the polls fail at the token endpoint, before any order is read; check what changed at the gateway at 09:00 UTC",
        "the poll stopped at the token request: what reached the ERP?"),
}

# A few wrong answers deserve a sharper explanation than the clue.
TRAPS = {
    ("INC-7", "target_server_error"): "a 401 is the server refusing our credentials: it is working as designed",
    ("INC-6", "data_quality"): "one bad value is data quality; every order failing on the same missing field after a release is not",
    ("INC-2", "contract_change"): "the payload had the field; its value failed the ERP's validation",
    ("INC-3", "target_server_error"): "the ERP never returned an error; the runtime stopped waiting",
    ("INC-5", "timeout"): "nothing timed out at 08:20; someone re-sent messages that had succeeded",
    ("INC-4", "target_server_error"): "429 is not a server fault: the gateway is protecting a shared quota",
}

# Every secret in the visible bundle: the old client secret, the Basic credential, the bearer tokens' payloads and signatures.
SECRETS = ("Zk8qT3vLw9RmX2pA", "ZXJwLWluYm91bmQ6V2ludGVyMjAyNCE",
           "eyJzdWIiOiJlcnAtc3luYyIsImV4cCI6MTczMDc5MzYwMH0", "c2lnbmF0dXJlLW9uZS1mb3ItZXJwLXN5bmM",
           "eyJzdWIiOiJlcnAtc3luYyIsImV4cCI6MTczMDgwMDgwMH0", "c2lnbmF0dXJlLXR3by1mb3ItZXJwLXN5bmM")


# -- reading the file ---------------------------------------------------------
def load(record) -> tuple[dict | None, str]:
    """The parsed findings (or None) and, when None, a one-line reason."""
    if not record.ok:
        return None, f"findings.toml could not be read: {record.problem()}"
    if not isinstance(record.value, str):
        return None, "findings.toml could not be read"
    return _parse(record.value)


@functools.lru_cache(maxsize=2)  # several checks of one grading read the same file; checks never change a doc
def _parse(text: str) -> tuple[dict | None, str]:
    try:
        return tomllib.loads(text), ""
    except tomllib.TOMLDecodeError as exc:
        return None, f"findings.toml is not valid TOML: {exc}"


def _table(doc: dict, incident: str) -> dict:
    table = doc.get(incident)
    return table if isinstance(table, dict) else {}


def _text(table: dict, key: str) -> str:
    value = table.get(key)
    return value if isinstance(value, str) else ""


def _judge(record, per_incident, what: str) -> Outcome:
    """Average per-incident scores; the reason counts misses, the evidence gives one line per miss."""
    doc, problem = load(record)
    if doc is None:
        return failed(problem)
    scores, notes = [], []
    for incident, answer in KEY.items():
        score, note = per_incident(incident, _table(doc, incident), answer)
        scores.append(score)
        if note:
            notes.append(f"{incident}: {note}")
    fraction = sum(scores) / len(scores)
    full = sum(1 for s in scores if s >= 1.0)
    if fraction >= 1.0:
        return passed(f"{what} right for all {len(KEY)} incidents")
    return partial(fraction, f"{what}: {full} of {len(KEY)} incidents fully right", "\n".join(notes))


# -- the fields -----------------------------------------------------------------
def category(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        chosen = _text(table, "category").strip()
        if not table:
            return 0.0, f"no [{incident}] table"
        if chosen == answer.category:
            return 1.0, ""
        if not chosen:
            return 0.0, "no category yet"
        if chosen not in CATEGORIES:
            return 0.0, f"category {chosen!r} is not one of: {', '.join(CATEGORIES)}"
        return 0.0, f"not {chosen}: " + TRAPS.get((incident, chosen), answer.clue)
    return _judge(record, one, "root-cause category")


def _instant(value) -> int | None:
    """Milliseconds since the epoch for a cited ts (text or TOML datetime); naive means UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return round(value.timestamp() * 1000)


def _cites(cited_ms: int, key_ts: str) -> bool:
    key_ms = _instant(key_ts)
    # A citation without milliseconds still names the line's second.
    return cited_ms == key_ms or (cited_ms % 1000 == 0 and cited_ms == key_ms // 1000 * 1000)


def evidence(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        entries = [e for e in table.get("evidence", []) if isinstance(e, dict)] if isinstance(table.get("evidence"), list) else []
        if not entries:
            return 0.0, "no evidence entries"
        with_cid = [e for e in entries if isinstance(e.get("correlation_id"), str) and e["correlation_id"].strip()]
        if not with_cid:
            return 0.0, f"{len(entries)} evidence entries but none names a correlation_id; without it nobody can find the line again"
        cited = [(e["correlation_id"].strip(), _instant(e.get("ts"))) for e in with_cid]
        score, misses = 0.0, []
        for shows, lines in answer.evidence:
            cids = {cid for cid, _ in lines}
            right_cid = any(cid in cids for cid, _ in cited)
            right_line = any(cid == key_cid and ms is not None and _cites(ms, key_ts)
                             for cid, ms in cited for key_cid, key_ts in lines)
            score += (0.4 * right_cid + 0.6 * right_line) / len(answer.evidence)
            if not right_cid:
                misses.append(f"no correlation ID that shows {shows}")
            elif not right_line:
                misses.append(f"right correlation ID, but no timestamp of a line that shows {shows} (use the line's UTC ts)")
        return score, "; ".join(misses)
    return _judge(record, one, "evidence")


def _concepts(field: str, attribute: str):
    def one(incident: str, table: dict, answer: Answer):
        text = _text(table, field)
        needed = getattr(answer, attribute)
        if not text.strip():
            return 0.0, f"{field} is empty"
        missing = [c for c in needed if not re.search(CONCEPTS[c][0], text, flags=re.I)]
        note = "; ".join(f"{field} lacks the idea of '{c}' (e.g. {CONCEPTS[c][1]})" for c in missing)
        return (len(needed) - len(missing)) / len(needed), note
    return one


def next_step(record) -> Outcome:
    return _judge(record, _concepts("next_step", "next_step"), "next diagnostic step")


def mitigation(record) -> Outcome:
    return _judge(record, _concepts("mitigation", "mitigation"), "mitigation")


def replay(record) -> Outcome:
    def one(incident: str, table: dict, answer: Answer):
        safe = table.get("replay_safe")
        if not isinstance(safe, bool):
            return 0.0, "replay_safe must be true or false"
        if safe != answer.replay_safe:
            return 0.0, f"replay_safe = {str(safe).lower()} does not match the evidence: {answer.replay_clue}"
        why = _text(table, "replay_why")
        if re.search(SAFE_WHY if safe else UNSAFE_WHY, why, flags=re.I):
            return 1.0, ""
        example = "rejected, rolled back, nothing was created" if safe else "already created, would duplicate"
        return 0.7, f"replay_safe is right, but replay_why does not say why (e.g. {example})"
    return _judge(record, one, "replay verdict")


def no_secrets(record) -> Outcome:
    if not record.ok or not isinstance(record.value, str):
        return failed(f"findings.toml could not be read: {record.problem()}")
    leaked = [s for s in SECRETS if s in record.value]
    if leaked:
        return failed(f"findings.toml contains {len(leaked)} secret(s) copied from the logs; mask them as ***",
                      "a findings file goes into tickets and chat: a credential copied from a log line "
                      "(client_secret, Basic, Bearer) is a leaked credential")
    doc, problem = load(record)
    if doc is None:
        return failed(problem)
    cited = sum(len(_table(doc, i).get("evidence") or []) for i in KEY if isinstance(_table(doc, i).get("evidence"), list))
    if not cited:
        return failed("findings.toml cites no evidence yet, so there is nothing to judge")
    return passed("no secret from the logs appears in findings.toml")

